/**
 * Laravel 8 dispatches to Redis (phpredis, stock `laravel_database_` prefix),
 * the KQueue daemon runs: every PHP type, delayed, named queues in priority
 * order, and a failing job through failed_jobs, `queue:failed` and
 * `queue:retry` back to KQueue. The Redis twin of laravel_database_test.ts.
 * Payloads are compared field by field: cjson re-encodes the reserved copy.
 */
import assert from "node:assert/strict";
import { isEvent } from "./helpers/daemon_process.ts";
import { laravelTest } from "./laravel/harness.ts";
import { withLaravelRedis } from "./redis_fixtures/laravel_redis.ts";
import { EVERY_PHP_TYPE, NON_PUBLIC } from "./laravel/php_values.ts";

const P = "laravel_database_";

/** A value of every PHP type, as Laravel's constructor gets it (JSON → named arguments). */
const WELCOME = { ...EVERY_PHP_TYPE, meta: [], ...NON_PUBLIC };

laravelTest(
  "redis + Laravel → KQueue: dispatch() and Queue::push of every PHP type run with the same values",
  async () => {
    await withLaravelRedis(async (q) => {
      const raw = q.server.client();
      await q.dispatch("SendWelcomeEmail", WELCOME);
      await q.dispatch("SendWelcomeEmail", { ...WELCOME, count: 8 }, "--via=queue");
      const listed = (await raw.lrange(`${P}queues:default`, 0, -1)).map((p) => JSON.parse(p));
      assert.deepEqual(listed.map((p) => [p.attempts, typeof p.id, p.data.commandName]), [
        [0, "string", "App\\Jobs\\SendWelcomeEmail"],
        [0, "string", "App\\Jobs\\SendWelcomeEmail"],
      ]);
      assert.ok(listed[0].data.command.includes('s:9:"\0*\0locale";s:2:"fr";'), "protected name");
      assert.ok(
        listed[0].data.command.includes('s:33:"\0App\\Jobs\\SendWelcomeEmail\0secret";'),
        "private name",
      );

      const daemon = await q.drain();
      assert.equal(daemon.events.filter(isEvent("job:done")).length, 2, daemon.stderr.join("\n"));
      const runs = await q.runs();
      assert.deepEqual(runs.map((r) => [r.side, r.job, r.attempt, r.queue, r.connection]), [
        ["kqueue", "App\\Jobs\\SendWelcomeEmail", 1, "default", "redis"],
        ["kqueue", "App\\Jobs\\SendWelcomeEmail", 1, "default", "redis"],
      ]);
      // PHP has one empty array for [] and {}: KQueue follows the TS field's default ({}).
      const byCount = new Map(runs.map((run) => [run.props.count, run]));
      assert.deepEqual(byCount.get(-7)!.props, { ...WELCOME, meta: {} }, "protected + private");
      assert.deepEqual(byCount.get(8)!.props, { ...WELCOME, count: 8, meta: {} });
      assert.deepEqual(
        runs.map((run) => [run.uuid, run.jobId]).sort(),
        listed.map((p) => [p.uuid, p.id]).sort(),
        "uuid and jobId are the payload's uuid and Redis id",
      );
      assert.deepEqual(await raw.keys("*"), [], "list, notify and reserved are gone");
      assert.deepEqual(await q.failed(), []);
    });
  },
);

laravelTest(
  "redis + Laravel → KQueue: ->onQueue('emails')->delay(2) and Queue::later sit in :delayed until due",
  async () => {
    await withLaravelRedis(async (q) => {
      const raw = q.server.client();
      const before = Math.floor(Date.now() / 1000);
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
      const after = Math.floor(Date.now() / 1000);
      const delayed = await raw.zrange(`${P}queues:emails:delayed`, 0, -1, "WITHSCORES");
      const members = [0, 2].map((i) => ({
        payload: JSON.parse(delayed[i]!),
        due: +delayed[i + 1]!,
      }));
      assert.equal(delayed.length, 4, "both in queues:emails:delayed");
      assert.ok(members.every((m) => m.due >= before + 2 && m.due <= after + 2), "now + 2 s");
      assert.ok(members.every((m) => m.payload.attempts === 0));
      assert.equal(await raw.llen(`${P}queues:emails`), 0, "nothing in the list yet");
      assert.equal(await raw.exists(`${P}queues:default`, `${P}queues:default:delayed`), 0);

      // Waits for the delay in real time (~2 s): Laravel scores whole seconds.
      const daemon = await q.drain("--queue=emails");
      assert.equal(daemon.events.filter(isEvent("job:done")).length, 2, daemon.stderr.join("\n"));
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => run.queue), ["emails", "emails"]);
      for (const run of runs) {
        const member = members.find((m) => m.payload.uuid === run.uuid)!;
        assert.ok(member.payload.data.command.includes(`"${run.props.email}"`), "its own values");
        assert.ok(run.at >= member.due * 1000, `ran at ${run.at}, due ${member.due}`);
      }
      assert.deepEqual(
        new Set(runs.map((run) => run.props.email)),
        new Set(["later@example.test", "queue-later@example.test"]),
      );
      assert.deepEqual(await raw.keys("*"), []);
    });
  },
);

laravelTest(
  "redis + Laravel → KQueue: --queue=emails,default drains emails first, in list order",
  async () => {
    await withLaravelRedis(async (q) => {
      await q.dispatch("SendWelcomeEmail", { email: "d1@example.test" });
      await q.dispatch("SendWelcomeEmail", { email: "d2@example.test" }, "--via=queue");
      await q.dispatch("SendWelcomeEmail", { email: "e1@example.test" }, "--queue=emails");
      await q.dispatch(
        "SendWelcomeEmail",
        { email: "e2@example.test" },
        "--via=queue",
        "--queue=emails",
      );
      await q.drain("--queue=emails,default", "--concurrency=1");
      assert.deepEqual((await q.runs()).map((run) => [run.queue, run.props.email]), [
        ["emails", "e1@example.test"],
        ["emails", "e2@example.test"],
        ["default", "d1@example.test"],
        ["default", "d2@example.test"],
      ]);
      assert.deepEqual(await q.server.client().keys("*"), []);
    });
  },
);

laravelTest(
  "redis + Laravel → KQueue → failed_jobs → queue:failed → queue:retry → KQueue (attempts reset)",
  async () => {
    await withLaravelRedis(async (q) => {
      const raw = q.server.client();
      await q.dispatch("FailsFirstTime", { note: "ünï/✓" }, "--queue=mail");
      // tries 3, backoff "0,0": fails on attempt 3, after two releases through :delayed.
      await q.dispatch("FlakyJob", { succeedOn: 99, retryDelay: 0 }, "--queue=mail");
      const [first, flaky] = (await raw.lrange(`${P}queues:mail`, 0, -1)).map((p) => JSON.parse(p));
      assert.equal(flaky.backoff, "0,0");

      const daemon = await q.drain("--queue=mail", "--concurrency=1");
      assert.equal(daemon.events.filter(isEvent("job:failed")).length, 2, daemon.stderr.join("\n"));
      const listed = await q.failed();
      assert.deepEqual(
        listed.map((row) => [row.id, row.connection, row.queue, row.class]).sort(),
        [
          [first.uuid, "redis", "mail", "App\\Jobs\\FailsFirstTime"],
          [flaky.uuid, "redis", "mail", "App\\Jobs\\FlakyJob"],
        ].sort(),
      );
      const rows = q.rows<{ uuid: string; connection: string; queue: string; payload: string }>(
        "SELECT * FROM failed_jobs ORDER BY id",
      );
      const rowOf = (uuid: string) => rows.find((row) => row.uuid === uuid)!;
      assert.deepEqual(rows.map((row) => [row.connection, row.queue]), [
        ["redis", "mail"],
        ["redis", "mail"],
      ]);
      // Laravel logs the copy popped from the list: attempts = the failing attempt - 1.
      assert.deepEqual(JSON.parse(rowOf(first.uuid).payload), first, "failed on attempt 1");
      assert.deepEqual(
        JSON.parse(rowOf(flaky.uuid).payload),
        { ...flaky, attempts: 2 },
        "failed on attempt 3: the twice-released (cjson) copy, field by field",
      );

      await q.php("retry.php", "all");
      assert.deepEqual(await q.failed(), []);
      const pushed = (await raw.lrange(`${P}queues:mail`, 0, -1)).map((p) => JSON.parse(p));
      const byUuid = new Map(pushed.map((p) => [p.uuid, p]));
      assert.equal(pushed.length, 2);
      assert.deepEqual(byUuid.get(first.uuid), first, "re-pushed as dispatched, attempts 0");
      assert.deepEqual(byUuid.get(flaky.uuid), flaky, "attempts reset from 2 to 0");

      const second = await q.drain("--queue=mail", "--concurrency=1");
      const done = second.events.filter(isEvent("job:done"));
      assert.deepEqual(done.map((e) => [e.job!.uuid, e.job!.attempt]), [[first.uuid, 1]]);
      const runs = await q.runs();
      const attemptsOf = (uuid: string) =>
        runs.filter((r) => r.uuid === uuid).map((r) => r.attempt);
      assert.deepEqual(attemptsOf(first.uuid), [1, 1], "queue:retry reset the attempts");
      assert.deepEqual(attemptsOf(flaky.uuid), [1, 2, 3, 1, 2, 3], "all three tries again");
      assert.deepEqual(runs.filter((r) => r.uuid === first.uuid).map((r) => r.props.note), [
        "ünï/✓",
        "ünï/✓",
      ]);
      assert.deepEqual((await q.failed()).map((row) => row.id), [flaky.uuid]);
      // Left behind: one idempotency token per fail (KQueue's own, 10 min TTL), nothing of Laravel's.
      const left = await raw.keys("*");
      assert.equal(left.length, 3, left.join(", "));
      for (const key of left) {
        assert.match(key, new RegExp(`^${P}queues:mail:kqueue-failing:[0-9a-f-]{36}$`));
        const ttl = await raw.pttl(key);
        assert.ok(ttl > 0 && ttl <= 600_000, `${key} expires (pttl ${ttl})`);
      }
    });
  },
);
