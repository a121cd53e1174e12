/**
 * Laravel 8 dispatches, KQueue runs: real Laravel (tests/laravel/) writes the
 * SQLite `jobs` rows, the real KQueue daemon runs them with the TS jobs in
 * tests/laravel/ts_jobs, and they record what they received.
 */
import assert from "node:assert/strict";
import { isEvent } from "./helpers/daemon_process.ts";
import { CACHE_PREFIX, laravelTest, type Run, withLaravelQueue } from "./laravel/harness.ts";
import { EVERY_PHP_TYPE, NON_PUBLIC } from "./laravel/php_values.ts";

/** A value of every PHP type, as Laravel's constructor gets it (JSON → named arguments). */
const WELCOME = { ...EVERY_PHP_TYPE, meta: [], ...NON_PUBLIC };

const byAttempt = (runs: Run[]) => runs.map((run) => run.attempt);

laravelTest(
  "Laravel → KQueue: dispatch() and Queue::push of a job with every PHP type run with the same values",
  async () => {
    await withLaravelQueue(async (q) => {
      await q.dispatch("SendWelcomeEmail", WELCOME);
      await q.dispatch("SendWelcomeEmail", { ...WELCOME, count: 8 }, "--via=queue");
      const rows = q.jobs();
      assert.equal(rows.length, 2);
      const daemon = await q.drain();
      assert.equal(daemon.events.filter(isEvent("job:done")).length, 2, daemon.stderr.join("\n"));

      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.job, run.attempt]), [
        ["kqueue", "App\\Jobs\\SendWelcomeEmail", 1],
        ["kqueue", "App\\Jobs\\SendWelcomeEmail", 1],
      ]);
      const expected = (count: number) => ({
        ...WELCOME,
        count,
        // PHP has one empty array for [] and {}: KQueue follows the TS field's default ({}).
        meta: {},
      });
      const byCount = new Map(runs.map((run) => [run.props.count, run]));
      assert.deepEqual(
        byCount.get(-7)!.props,
        expected(-7),
        "protected and private props included",
      );
      assert.deepEqual(byCount.get(8)!.props, expected(8));
      assert.deepEqual(
        new Set(runs.map((run) => run.uuid)),
        new Set(rows.map((row) => row.decoded.uuid)),
        "the job's uuid is the payload's",
      );
      assert.ok(runs.every((run) => run.queue === "default" && run.connection === "database"));
      assert.equal(q.jobs().length, 0);
      assert.equal((await q.failed()).length, 0);
    });
  },
);

laravelTest(
  "Laravel → KQueue: ->onQueue('emails')->delay(2) and Queue::later run on that queue, not before available_at",
  async () => {
    await withLaravelQueue(async (q) => {
      await q.dispatch(
        "SendWelcomeEmail",
        { email: "later@example.test" },
        "--queue=emails",
        "--delay=2",
      );
      await q.dispatch(
        "SendWelcomeEmail",
        { email: "queue-later@example.test" },
        "--via=queue",
        "--queue=emails",
        "--delay=2",
      );
      const rows = q.jobs();
      assert.deepEqual(rows.map((row) => row.queue), ["emails", "emails"]);
      assert.ok(rows.every((row) => row.available_at >= row.created_at + 2));
      // Waits for the delay in real time (2 s): the storage clock is whole seconds on both sides.
      const daemon = await q.drain("--queue=emails");
      const started = daemon.events.filter(isEvent("job:started"));
      assert.equal(started.length, 2);
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => run.queue), ["emails", "emails"]);
      assert.deepEqual(
        new Set(runs.map((run) => run.props.email)),
        new Set(["later@example.test", "queue-later@example.test"]),
      );
      for (const run of runs) {
        const row = rows.find((r) => r.decoded.uuid === run.uuid)!;
        assert.ok(
          run.at >= row.available_at * 1000,
          `ran at ${run.at}, available_at ${row.available_at}`,
        );
      }
    });
  },
);

laravelTest(
  'Laravel → KQueue: tries, backoff "1,2", retryUntil, maxExceptions and timeout come from the payload',
  async () => {
    await withLaravelQueue(async (q) => {
      await q.dispatch("FlakyJob", { succeedOn: 3, retryDelay: 1 }); // tries 3, backoff "1,2"
      await q.dispatch("ConfiguredJob", { throwUntil: 2 }); // tries 1, but retryUntil wins
      await q.dispatch("ConfiguredJob", { throwUntil: 99 }); // maxExceptions 3 ends it
      await q.dispatch("SlowJob", { seconds: 5 }); // timeout 1, tries 1
      const payloads = q.jobs().map((row) => row.decoded);
      assert.deepEqual(
        payloads.map((p) => [p.maxTries, p.backoff, p.timeout, p.maxExceptions, p.failOnTimeout]),
        [[3, "1,2", null, null, false], [1, "1,2", 30, 3, true], [1, "1,2", 30, 3, true], [
          1,
          null,
          1,
          null,
          false,
        ]],
      );
      const [flakyUuid, okUuid, failUuid, slowUuid] = payloads.map((p) => p.uuid as string);
      assert.ok(Math.abs(payloads[1]!.retryUntil - (Date.now() / 1000 + 600)) < 5);

      const daemon = await q.drain("--concurrency=4");
      const runs = await q.runs();
      const of = (uuid: string) => runs.filter((run) => run.uuid === uuid);

      const flaky = of(flakyUuid!);
      assert.deepEqual(byAttempt(flaky), [1, 2, 3]);
      assert.ok(flaky[1]!.at - flaky[0]!.at >= 900, "1st retry waited backoff[0] = 1 s");
      assert.ok(flaky[2]!.at - flaky[1]!.at >= 1900, "2nd retry waited backoff[1] = 2 s");
      assert.deepEqual(byAttempt(of(okUuid!)), [1, 2, 3], "retryUntil overrides tries = 1");
      assert.deepEqual(byAttempt(of(failUuid!)), [1, 2, 3], "failed on the 3rd exception");
      assert.deepEqual(byAttempt(of(slowUuid!)), [1]);

      const done = daemon.events.filter(isEvent("job:done")).map((e) => e.job!.uuid);
      assert.deepEqual(new Set(done), new Set([flakyUuid, okUuid]));
      const failed = daemon.events.filter(isEvent("job:failed"));
      const failedFor = (uuid: string) => failed.find((e) => e.job!.uuid === uuid)!;
      assert.equal(failedFor(slowUuid!).error!.name, "TimeoutExceededError");
      assert.match(failedFor(failUuid!).error!.message, /throws on attempt 3/);
      const delays = daemon.events.filter(isEvent("job:released"))
        .filter((e) => e.job!.uuid === flakyUuid).map((e) => e.delaySeconds);
      assert.deepEqual(delays, [1, 2]);

      // The maxExceptions counters live in Laravel's cache table, under Laravel's key: the one that
      // fired is deleted (as Laravel does), the succeeded job's count of 2 stays until it expires.
      assert.deepEqual(q.rows("SELECT key, value FROM cache"), [
        { key: `${CACHE_PREFIX}job-exceptions:${okUuid}`, value: "i:2;" },
      ]);
      const listed = await q.failed();
      assert.deepEqual(
        listed.map((row) => [row.id, row.class]).sort(),
        [[failUuid, "App\\Jobs\\ConfiguredJob"], [slowUuid, "App\\Jobs\\SlowJob"]].sort(),
      );
    });
  },
);

laravelTest(
  "Laravel → KQueue → queue:failed → queue:retry → KQueue: a failed job is listed, re-pushed and runs again",
  async () => {
    await withLaravelQueue(async (q) => {
      await q.dispatch("FailsFirstTime", { note: "ünï/✓" }, "--queue=mail");
      const [original] = q.jobs();
      const first = await q.drain("--queue=mail");
      assert.equal(first.events.filter(isEvent("job:failed")).length, 1, first.stderr.join("\n"));

      const [listed, ...more] = await q.failed();
      assert.equal(more.length, 0);
      assert.equal(listed!.id, original!.decoded.uuid);
      assert.equal(listed!.connection, "database");
      assert.equal(listed!.queue, "mail");
      assert.equal(listed!.class, "App\\Jobs\\FailsFirstTime");
      assert.match(listed!.failed_at!, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      const [row] = q.rows<{ payload: string; exception: string }>("SELECT * FROM failed_jobs");
      assert.deepEqual(
        JSON.parse(row!.payload),
        original!.decoded,
        "failed_jobs.payload = the job's",
      );
      assert.match(row!.exception, /first run of "ünï\/✓" fails/);

      const retried = await q.php("retry.php", listed!.id!);
      assert.match(
        retried.stdout,
        new RegExp(`The failed job \\[${listed!.id}\\] has been pushed back`),
      );
      assert.equal((await q.failed()).length, 0);
      const [pushed, ...others] = q.jobs();
      assert.equal(others.length, 0);
      assert.equal(pushed!.queue, "mail");
      assert.equal(pushed!.attempts, 0);
      // queue:retry re-encodes the JSON (\u escapes): equal field by field, not byte by byte.
      assert.notEqual(pushed!.payload, original!.payload);
      assert.deepEqual(pushed!.decoded, original!.decoded);

      const second = await q.drain("--queue=mail");
      const done = second.events.filter(isEvent("job:done"));
      assert.equal(done.length, 1, second.stderr.join("\n"));
      assert.equal(done[0]!.job!.attempt, 1, "queue:retry reset the attempts");
      assert.equal(done[0]!.job!.uuid, original!.decoded.uuid);
      assert.deepEqual((await q.runs()).map((run) => run.props.note), ["ünï/✓", "ünï/✓"]);
    });
  },
);

// Laravel's CallQueuedHandler pushes the next job of `data.command`'s `chained` list after a
// link succeeds. KQueue does not run chains yet, so it must refuse the head of one with a named
// failure (design-notes.md) instead of running it and dropping the rest.
laravelTest(
  "Laravel → KQueue: the head of a Bus::chain fails with a named reason, it is not run with its rest dropped",
  async () => {
    await withLaravelQueue(async (q) => {
      const chain = [
        ["SendWelcomeEmail", { email: "one@example.test" }],
        ["SendWelcomeEmail", { email: "two@example.test" }],
      ];
      await q.php("dispatch.php", "chain", JSON.stringify(chain));
      assert.match(q.jobs()[0]!.decoded.data.command, /s:7:"chained";a:1:\{/);
      const daemon = await q.drain();
      assert.deepEqual(await q.runs(), [], "no link ran");
      const failed = daemon.events.filter(isEvent("job:failed"));
      assert.equal(failed.length, 1);
      assert.match(
        failed[0]!.error!.message,
        /head of a Bus::chain with 1 more job\(s\); chains are not supported yet/,
      );
    });
  },
);
