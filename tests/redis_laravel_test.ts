/**
 * Laravel 8 and KQueue on one Redis queue (real phpredis, real Laravel
 * worker, real KQueue daemon): either side runs what the other dispatched,
 * picks up the other's retries, and counts maxExceptions under the same key.
 */
import assert from "node:assert/strict";
import { prepareDispatch } from "../src/dispatch.ts";
import { isEvent } from "./helpers/daemon_process.ts";
import { laravelTest, untilUnixSecond } from "./laravel/harness.ts";
import { SendWelcomeEmail } from "./laravel/ts_jobs/laravel_jobs.ts";
import { withLaravelRedis } from "./redis_fixtures/laravel_redis.ts";

const PREFIX = "laravel_database_";

laravelTest(
  "redis + Laravel: Laravel dispatches, KQueue runs (stock laravel_database_ prefix)",
  async () => {
    await withLaravelRedis(async (q) => {
      await q.dispatch("SendWelcomeEmail", { email: "a@example.test", count: 1, tags: ["x"] });
      await q.dispatch("SendWelcomeEmail", { email: "b@example.test", count: 2 }, "--via=queue");
      const raw = q.server.client();
      assert.equal(await raw.llen(`${PREFIX}queues:default`), 2, "Laravel wrote the prefixed list");
      const daemon = await q.drain();
      assert.equal(daemon.events.filter(isEvent("job:done")).length, 2, daemon.stderr.join("\n"));
      const runs = await q.runs();
      assert.deepEqual(runs.map((r) => [r.side, r.attempt, r.props.email, r.connection]).sort(), [
        ["kqueue", 1, "a@example.test", "redis"],
        ["kqueue", 1, "b@example.test", "redis"],
      ]);
      assert.ok(
        runs.every((r) => /^[A-Za-z0-9]{32}$/.test(r.jobId!)),
        "jobId is the payload's Redis id",
      );
      assert.deepEqual(await raw.keys("*"), [], "nothing left: list, notify, reserved all gone");
    });
  },
);

laravelTest("redis + Laravel: KQueue dispatches, Laravel's queue:work redis runs it", async () => {
  await withLaravelRedis(async (q) => {
    const prepared = prepareDispatch(SendWelcomeEmail, { email: "k@example.test", count: 7 });
    const id = await q.connection.driver.push("default", prepared.payload);
    const out = await q.workOnce();
    assert.match(out, new RegExp(`\\[${id}\\] Processed:\\s+App\\\\Jobs\\\\SendWelcomeEmail`));
    const [run] = await q.runs();
    assert.deepEqual([run!.side, run!.attempt, run!.jobId, run!.uuid, run!.props.count], [
      "php",
      1,
      id,
      prepared.uuid,
      7,
    ]);
    assert.deepEqual(await q.server.client().keys("*"), []);
  });
});

laravelTest(
  "redis + Laravel: a retry crosses over both ways, attempts counted once each",
  async () => {
    await withLaravelRedis(async (q) => {
      const raw = q.server.client();
      // KQueue runs attempt 1 and releases it (backoff 1 s); Laravel runs attempt 2.
      await q.dispatch("FlakyJob", { succeedOn: 2, retryDelay: 1 });
      await q.drain("--once");
      const [released] = await raw.zrange(`${PREFIX}queues:default:delayed`, 0, -1, "WITHSCORES");
      assert.equal(JSON.parse(released!).attempts, 1, "KQueue released the reserved copy");
      const due = Number(
        (await raw.zrange(`${PREFIX}queues:default:delayed`, 0, -1, "WITHSCORES"))[1],
      );
      await untilUnixSecond(due);
      assert.match(await q.workOnce(), /Processed:\s+App\\Jobs\\FlakyJob/);
      // Laravel runs attempt 1 and releases it; KQueue runs attempt 2.
      await q.dispatch("FlakyJob", { succeedOn: 2, retryDelay: 1 });
      assert.match(await q.workOnce(), /Processing:\s+App\\Jobs\\FlakyJob/);
      const [releasedByLaravel] = await raw.zrange(`${PREFIX}queues:default:delayed`, 0, -1);
      assert.equal(
        JSON.parse(releasedByLaravel!).attempts,
        1,
        "Laravel released its reserved copy",
      );
      await q.drain();
      const runs = await q.runs();
      assert.deepEqual(runs.map((r) => [r.side, r.attempt]), [
        ["kqueue", 1],
        ["php", 2],
        ["php", 1],
        ["kqueue", 2],
      ]);
      assert.deepEqual(await raw.keys("*"), []);
      assert.deepEqual(await q.failed(), []);
    });
  },
);

laravelTest(
  "redis + Laravel: KQueue fails a job into failed_jobs, queue:retry re-pushes it, KQueue runs it",
  async () => {
    await withLaravelRedis(async (q) => {
      await q.dispatch("FailsFirstTime", { note: "redis" });
      await q.drain();
      const [row] = await q.failed();
      assert.ok(row, "queue:failed lists KQueue's row");
      assert.equal(row.connection, "redis");
      assert.equal(row.queue, "default");
      await q.php("retry.php", "all");
      assert.deepEqual(await q.failed(), []);
      await q.drain();
      const runs = await q.runs();
      assert.deepEqual(runs.map((r) => [r.side, r.attempt, r.props.note]), [
        ["kqueue", 1, "redis"],
        ["kqueue", 1, "redis"],
      ], "queue:retry resets attempts");
      assert.equal(runs[0]!.uuid, runs[1]!.uuid, "the same job");
    });
  },
);

laravelTest(
  "redis + Laravel: maxExceptions counted under one key on the Redis cache store",
  async () => {
    await withLaravelRedis(async (q) => {
      const cache = q.server.client(1);
      await q.dispatch("ConfiguredJob", { throwUntil: 2 });
      await q.drain("--once");
      const [uuid] = (await q.runs()).map((r) => r.uuid);
      const key = `${PREFIX}laravel_cache:job-exceptions:${uuid}`;
      assert.equal(await cache.get(key), "1", "KQueue counted in Laravel 8's RedisStore key");
      const due = Number(
        (await q.server.client().zrange(`${PREFIX}queues:default:delayed`, 0, 0, "WITHSCORES"))[1],
      );
      await untilUnixSecond(due);
      await q.workOnce();
      assert.equal(await cache.get(key), "2", "Laravel counted on top of it");
      assert.deepEqual((await q.runs()).map((r) => [r.side, r.attempt]), [["kqueue", 1], [
        "php",
        2,
      ]]);
    }, {
      php: { CACHE_DRIVER: "redis", CACHE_PREFIX: "laravel_cache" },
      kqueue: { CACHE_STORE: "redis", CACHE_PREFIX: "laravel_cache:" },
    });
  },
);
