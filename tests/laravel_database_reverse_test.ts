/**
 * KQueue dispatches, Laravel 8 runs: payloads written by KQueue (prepareDispatch
 * and the CLI) are run by Laravel's real `queue:work --once`, whose PHP job
 * records the property values it unserialized from `data.command`.
 */
import assert from "node:assert/strict";
import { type JobClass, prepareDispatch } from "../src/mod.ts";
import { isEvent } from "./helpers/daemon_process.ts";
import {
  type LaravelQueue,
  laravelTest,
  processedLines,
  TS_JOBS,
  untilUnixSecond,
  withLaravelQueue,
} from "./laravel/harness.ts";
import { AlwaysFails, FlakyJob, SendWelcomeEmail } from "./laravel/ts_jobs/laravel_jobs.ts";
import { NightlyReport } from "./laravel/ts_jobs/kqueue_only_jobs.ts";
import { EVERY_PHP_TYPE } from "./laravel/php_values.ts";

const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;

/** The same values as the Laravel → KQueue test, from the TypeScript side. */
const VALUES = { ...EVERY_PHP_TYPE, meta: { source: "kqueue" } };
const PUBLIC_FIELDS = Object.keys(VALUES);

async function push(q: LaravelQueue, Class: JobClass, data = {}, queue = "default") {
  const prepared = prepareDispatch(Class, data);
  await q.connection.driver.push(queue, prepared.payload, { delay: 0 });
  return prepared;
}

laravelTest(
  "KQueue → Laravel: queue:work runs a prepareDispatch payload with the same public property values",
  async () => {
    await withLaravelQueue(async (q) => {
      const prepared = await push(q, SendWelcomeEmail, { ...VALUES, ratio: 2, meta: {} });
      const second = await push(q, SendWelcomeEmail, VALUES);
      for (const _ of [1, 2]) {
        const out = await q.php("work.php", "--once");
        assert.equal(processedLines(out.stdout).filter((l) => /Processed:/.test(l)).length, 1);
      }
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.job, run.attempt, run.queue]), [
        ["php", "App\\Jobs\\SendWelcomeEmail", 1, "default"],
        ["php", "App\\Jobs\\SendWelcomeEmail", 1, "default"],
      ]);
      assert.deepEqual(runs.map((run) => run.uuid), [prepared.uuid, second.uuid]);
      const publicProps = (props: Record<string, unknown>) =>
        Object.fromEntries(PUBLIC_FIELDS.map((key) => [key, props[key]]));
      // PHP has one empty array: KQueue's {} arrives as [], and the int 2 in a float property as 2.0.
      assert.deepEqual(publicProps(runs[0]!.props), { ...VALUES, ratio: 2, meta: [] });
      assert.deepEqual(publicProps(runs[1]!.props), VALUES);
      assert.equal(q.jobs().length, 0);
    });
  },
);

laravelTest(
  "KQueue → Laravel: KQueue's payload has the fields, and field types, of Laravel's own",
  async () => {
    await withLaravelQueue(async (q) => {
      await q.dispatch("SendWelcomeEmail", { email: "php@example.test" });
      await push(q, SendWelcomeEmail, { email: "ts@example.test" });
      const [laravel, kqueue] = q.jobs().map((row) => row.decoded);
      const shape = (p: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v === null ? "null" : typeof v]));
      assert.deepEqual(shape(kqueue!), shape(laravel!));
      assert.deepEqual(shape(kqueue!.data), shape(laravel!.data));
      for (const field of ["displayName", "job", "maxTries", "backoff", "timeout", "retryUntil"]) {
        assert.deepEqual(kqueue![field], laravel![field], field);
      }
      assert.equal(kqueue!.data.commandName, laravel!.data.commandName);
      assert.match(kqueue!.data.command, /^O:25:"App\\Jobs\\SendWelcomeEmail":\d+:\{/);
    });
  },
);

laravelTest(
  "KQueue → Laravel: `kqueue dispatch` from the CLI onto a named queue, then queue:work --queue",
  async () => {
    await withLaravelQueue(async (q) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          CLI,
          "dispatch",
          "App\\Jobs\\SendWelcomeEmail",
          JSON.stringify({ email: "cli@example.test", tags: ["cli"], count: 3 }),
          `--jobs=${TS_JOBS}`,
          "--queue=emails",
        ],
        env: q.env(),
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(processedLines((await q.php("work.php", "--once")).stdout).length, 0);
      const worked = await q.php("work.php", "--once", "--queue=emails");
      assert.equal(processedLines(worked.stdout).length, 2); // Processing + Processed
      const [run] = await q.runs();
      assert.equal(run!.queue, "emails");
      assert.equal(run!.props.email, "cli@example.test");
      assert.deepEqual(run!.props.tags, ["cli"]);
      assert.equal(run!.props.count, 3);
    });
  },
);

laravelTest(
  "KQueue → Laravel: KQueue's tries and backoff [1, 2] are what Laravel's worker retries by",
  async () => {
    await withLaravelQueue(async (q) => {
      const prepared = await push(q, FlakyJob, { succeedOn: 2 });
      const first = await q.php("work.php", "--once");
      assert.deepEqual(processedLines(first.stdout).map((l) => l.split("] ")[1]), [
        "Processing: App\\Jobs\\FlakyJob",
      ]);
      const [released] = q.jobs();
      assert.equal(released!.attempts, 1);
      const [php1] = await q.runs();
      // Laravel: available_at = time() + backoff[0], whole seconds.
      assert.ok(released!.available_at >= Math.floor(php1!.at / 1000) + 1, "backoff[0] = 1 s");
      assert.ok(released!.available_at <= Math.floor(Date.now() / 1000) + 1, "backoff[0] = 1 s");
      assert.equal(released!.decoded.uuid, prepared.uuid);
      await untilUnixSecond(released!.available_at); // the real 1 s backoff
      await q.php("work.php", "--once");
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt]), [["php", 1], ["php", 2]]);
      assert.equal(q.jobs().length, 0);
    });
  },
);

laravelTest(
  "KQueue fails → queue:retry → Laravel runs it → Laravel's failed_jobs row is read by KQueue",
  async () => {
    await withLaravelQueue(async (q) => {
      const prepared = await push(q, AlwaysFails, { note: "from KQueue ✓" });
      const daemon = await q.drain();
      assert.equal(daemon.events.filter(isEvent("job:failed")).length, 1);
      const retried = await q.php("retry.php", "all");
      assert.match(retried.stdout, /has been pushed back onto the queue/);

      const worked = await q.php("work.php", "--once");
      assert.match(worked.stdout, /Failed: +App\\Jobs\\AlwaysFails/);
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt, run.props.note]), [
        ["kqueue", 1, "from KQueue ✓"],
        ["php", 1, "from KQueue ✓"],
      ]);
      const listed = await q.failed();
      assert.deepEqual(listed.map((row) => [row.id, row.class]), [
        [prepared.uuid, "App\\Jobs\\AlwaysFails"],
      ]);
      const [row] = await q.connection.failed.list(); // Laravel wrote this one
      assert.equal(row!.uuid, prepared.uuid);
      assert.equal(row!.connection, "database");
      assert.match(row!.exception, /^RuntimeException: always fails: from KQueue ✓ in /);
      assert.equal(JSON.parse(row!.payload).uuid, prepared.uuid);
    });
  },
);

laravelTest(
  "a KQueue-only job (no PHP class) failed by KQueue: queue:failed lists it, queue:retry re-pushes it",
  async () => {
    await withLaravelQueue(async (q) => {
      const prepared = await push(q, NightlyReport, { day: "2026-12-03" }, "reports");
      await q.drain("--queue=reports");
      const [listed] = await q.failed();
      assert.deepEqual(listed, {
        ...listed,
        id: prepared.uuid,
        class: "NightlyReport",
        queue: "reports",
      });
      // refreshRetryUntil unserializes the command into __PHP_Incomplete_Class and moves on.
      await q.php("retry.php", prepared.uuid);
      const second = await q.drain("--queue=reports");
      const done = second.events.filter(isEvent("job:done"));
      assert.deepEqual(done.map((e) => [e.job!.uuid, e.job!.attempt]), [[prepared.uuid, 1]]);
      assert.deepEqual((await q.runs()).map((run) => run.props.day), ["2026-12-03", "2026-12-03"]);
    });
  },
);

// Laravel's SerializesModels (in every `make:job` class) restores protected/private properties
// only from their PHP-mangled names (`\0*\0locale`, `\0App\Jobs\X\0secret`): the TS twin
// declares them with `static phpVisibility`, and dispatch writes those names.
laravelTest(
  "KQueue → Laravel: protected and private PHP properties arrive (static phpVisibility)",
  async () => {
    await withLaravelQueue(async (q) => {
      await push(q, SendWelcomeEmail, { email: "p@example.test", locale: "fr", secret: "s3cr3t" });
      await q.php("work.php", "--once");
      const [run] = await q.runs();
      assert.equal(run!.props.email, "p@example.test");
      assert.deepEqual(
        { locale: run!.props.locale, secret: run!.props.secret },
        { locale: "fr", secret: "s3cr3t" },
        "PHP's protected string $locale / private string $secret are set",
      );
    });
  },
);
