/**
 * KQueue dispatches to Redis, Laravel 8 runs (phpredis, `queue:work redis
 * --once`): every PHP type including protected and private properties, a
 * delayed push that Laravel only takes once due, and a job KQueue failed
 * that Laravel's `queue:retry` re-pushes and Laravel's worker runs.
 */
import assert from "node:assert/strict";
import { type JobClass, prepareDispatch } from "../src/mod.ts";
import { isEvent } from "./helpers/daemon_process.ts";
import { laravelTest, processedLines, untilUnixSecond } from "./laravel/harness.ts";
import { AlwaysFails, SendWelcomeEmail } from "./laravel/ts_jobs/laravel_jobs.ts";
import { type LaravelRedisQueue, withLaravelRedis } from "./redis_fixtures/laravel_redis.ts";
import { EVERY_PHP_TYPE, NON_PUBLIC } from "./laravel/php_values.ts";

const P = "laravel_database_";

/** The values of the Laravel → KQueue tests, from the TypeScript side. */
const VALUES = { ...EVERY_PHP_TYPE, meta: { source: "kqueue" }, ...NON_PUBLIC };

async function push(
  q: LaravelRedisQueue,
  Class: JobClass,
  data = {},
  queue = "default",
  delay = 0,
) {
  const prepared = prepareDispatch(Class, data);
  const id = await q.connection.driver.push(queue, prepared.payload, { delay });
  return { ...prepared, id };
}

laravelTest(
  "redis + KQueue → Laravel: queue:work redis runs every PHP type, protected and private included",
  async () => {
    await withLaravelRedis(async (q) => {
      const a = await push(q, SendWelcomeEmail, VALUES);
      const b = await push(q, SendWelcomeEmail, { ...VALUES, ratio: 2, meta: {} });
      const listed = (await q.server.client().lrange(`${P}queues:default`, 0, -1))
        .map((p) => JSON.parse(p));
      assert.deepEqual(listed.map((p) => [p.id, p.uuid, p.attempts]), [
        [a.id, a.uuid, 0],
        [b.id, b.uuid, 0],
      ]);
      for (const id of [a.id, b.id]) {
        assert.match(await q.workOnce(), new RegExp(`\\[${id}\\] Processed:`));
      }
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt, run.jobId, run.connection]), [
        ["php", 1, a.id, "redis"],
        ["php", 1, b.id, "redis"],
      ]);
      assert.deepEqual(runs[0]!.props, VALUES, "PHP's protected $locale and private $secret set");
      // PHP has one empty array: KQueue's {} arrives as [], and the int 2 in a float property as 2.0.
      assert.deepEqual(runs[1]!.props, { ...VALUES, ratio: 2, meta: [] });
      assert.deepEqual(await q.server.client().keys("*"), []);
    });
  },
);

laravelTest(
  "redis + KQueue → Laravel: a push with delay 2 waits in :delayed; queue:work --once skips it until due",
  async () => {
    await withLaravelRedis(async (q) => {
      const raw = q.server.client();
      const pushedAt = Date.now();
      const job = await push(q, SendWelcomeEmail, { email: "later@example.test" }, "emails", 2);
      const delayed = await raw.zrange(`${P}queues:emails:delayed`, 0, -1, "WITHSCORES");
      assert.equal(delayed.length, 2, "Laravel's later(): a ZADD to :delayed");
      assert.deepEqual(JSON.parse(delayed[0]!), {
        ...JSON.parse(job.payload),
        id: job.id,
        attempts: 0,
      });
      const due = Number(delayed[1]);
      assert.equal(due, Math.ceil(pushedAt / 1000 + 2), "now + 2 s, rounded up");
      assert.equal(await raw.exists(`${P}queues:emails`, `${P}queues:emails:notify`), 0);

      const early = await q.workOnce("--queue=emails");
      assert.ok(Date.now() < due * 1000, "the early run finished before the score");
      assert.deepEqual(processedLines(early), [], "Laravel did not take it early");

      await untilUnixSecond(due);
      assert.match(await q.workOnce("--queue=emails"), /Processed:\s+App\\Jobs\\SendWelcomeEmail/);
      const [run] = await q.runs();
      assert.deepEqual([run!.side, run!.queue, run!.attempt, run!.props.email], [
        "php",
        "emails",
        1,
        "later@example.test",
      ]);
      assert.ok(run!.at >= due * 1000);
      assert.deepEqual(await raw.keys("*"), []);
    });
  },
);

laravelTest(
  "redis: KQueue fails a job → queue:retry → Laravel runs and fails it → KQueue reads Laravel's row",
  async () => {
    await withLaravelRedis(async (q) => {
      const job = await push(q, AlwaysFails, { note: "from KQueue ✓" }, "mail");
      const daemon = await q.drain("--queue=mail");
      assert.equal(daemon.events.filter(isEvent("job:failed")).length, 1);
      assert.match(await q.php("retry.php", "all"), /has been pushed back onto the queue/);

      assert.match(await q.workOnce("--queue=mail"), /Failed:\s+App\\Jobs\\AlwaysFails/);
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt, run.jobId, run.props.note]), [
        ["kqueue", 1, job.id, "from KQueue ✓"],
        ["php", 1, job.id, "from KQueue ✓"],
      ]);
      const [row, ...more] = await q.connection.failed.list(); // Laravel wrote this one
      assert.equal(more.length, 0);
      assert.deepEqual([row!.uuid, row!.connection, row!.queue], [job.uuid, "redis", "mail"]);
      assert.match(row!.exception, /^RuntimeException: always fails: from KQueue ✓ in /);
      assert.deepEqual(JSON.parse(row!.payload), {
        ...JSON.parse(job.payload),
        id: job.id,
        attempts: 0,
      });
    });
  },
);
