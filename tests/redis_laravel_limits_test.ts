/**
 * Laravel 8 dispatches to Redis, KQueue runs by the payload's limits alone
 * (the TS twins declare none): tries, backoff "1,2" gaps through :delayed,
 * retryUntil over tries = 1, maxExceptions (counted in Laravel's `cache`
 * table under Laravel's key), timeout. The failures land in failed_jobs with
 * the list copy Laravel would log. Waits ~3 s of real backoff (whole
 * seconds).
 */
import assert from "node:assert/strict";
import { isEvent } from "./helpers/daemon_process.ts";
import { CACHE_PREFIX, laravelTest, type Run } from "./laravel/harness.ts";
import { withLaravelRedis } from "./redis_fixtures/laravel_redis.ts";

const P = "laravel_database_";
const byAttempt = (runs: Run[]) => runs.map((run) => run.attempt);

laravelTest(
  'redis + Laravel → KQueue: tries, backoff "1,2", retryUntil, maxExceptions and timeout come from the payload',
  async () => {
    await withLaravelRedis(async (q) => {
      await q.dispatch("FlakyJob", { succeedOn: 3, retryDelay: 1 }); // tries 3, backoff "1,2"
      await q.dispatch("ConfiguredJob", { throwUntil: 2 }); // tries 1, but retryUntil wins
      await q.dispatch("ConfiguredJob", { throwUntil: 99 }); // maxExceptions 3 ends it
      await q.dispatch("SlowJob", { seconds: 5 }); // timeout 1, tries 1
      const raw = q.server.client();
      const payloads = (await raw.lrange(`${P}queues:default`, 0, -1)).map((p) => JSON.parse(p));
      assert.deepEqual(
        payloads.map((p) => [p.maxTries, p.backoff, p.timeout, p.maxExceptions, p.failOnTimeout]),
        [
          [3, "1,2", null, null, false],
          [1, "1,2", 30, 3, true],
          [1, "1,2", 30, 3, true],
          [1, null, 1, null, false],
        ],
      );
      const [flaky, ok, fail, slow] = payloads;
      assert.ok(Math.abs(ok.retryUntil - (Date.now() / 1000 + 600)) < 5);

      const daemon = await q.drain("--concurrency=4");
      const runs = await q.runs();
      const of = (uuid: string) => runs.filter((run) => run.uuid === uuid);

      const flakyRuns = of(flaky.uuid);
      assert.deepEqual(byAttempt(flakyRuns), [1, 2, 3]);
      assert.ok(flakyRuns[1]!.at - flakyRuns[0]!.at >= 900, "1st retry waited backoff[0] = 1 s");
      assert.ok(flakyRuns[2]!.at - flakyRuns[1]!.at >= 1900, "2nd retry waited backoff[1] = 2 s");
      assert.deepEqual(byAttempt(of(ok.uuid)), [1, 2, 3], "retryUntil overrides tries = 1");
      assert.deepEqual(byAttempt(of(fail.uuid)), [1, 2, 3], "failed on the 3rd exception");
      assert.deepEqual(byAttempt(of(slow.uuid)), [1]);
      assert.ok(runs.every((run) => run.connection === "redis" && run.jobId !== null));

      const done = daemon.events.filter(isEvent("job:done")).map((e) => e.job!.uuid);
      assert.deepEqual(new Set(done), new Set([flaky.uuid, ok.uuid]));
      const failed = daemon.events.filter(isEvent("job:failed"));
      const failedFor = (uuid: string) => failed.find((e) => e.job!.uuid === uuid)!;
      assert.equal(failed.length, 2);
      assert.equal(failedFor(slow.uuid).error!.name, "TimeoutExceededError");
      assert.match(failedFor(fail.uuid).error!.message, /throws on attempt 3/);
      const delays = daemon.events.filter(isEvent("job:released"))
        .filter((e) => e.job!.uuid === flaky.uuid).map((e) => e.delaySeconds);
      assert.deepEqual(delays, [1, 2]);

      // maxExceptions: Laravel 8's database cache store, Laravel's key; the fired counter is gone.
      assert.deepEqual(q.rows("SELECT key, value FROM cache"), [
        { key: `${CACHE_PREFIX}job-exceptions:${ok.uuid}`, value: "i:2;" },
      ]);

      // failed_jobs: the list copy, as Laravel logs it (attempts = failing attempt - 1).
      const listed = await q.failed();
      assert.deepEqual(
        listed.map((row) => [row.id, row.connection, row.queue, row.class]).sort(),
        [
          [fail.uuid, "redis", "default", "App\\Jobs\\ConfiguredJob"],
          [slow.uuid, "redis", "default", "App\\Jobs\\SlowJob"],
        ].sort(),
      );
      const rows = q.rows<{ uuid: string; payload: string; exception: string }>(
        "SELECT uuid, payload, exception FROM failed_jobs",
      );
      const rowOf = (uuid: string) => rows.find((row) => row.uuid === uuid)!;
      assert.deepEqual(JSON.parse(rowOf(fail.uuid).payload), { ...fail, attempts: 2 });
      assert.deepEqual(JSON.parse(rowOf(slow.uuid).payload), slow);
      assert.match(rowOf(slow.uuid).exception, /TimeoutExceededError/);
      assert.deepEqual((await raw.keys("*")).filter((k) => !k.includes(":kqueue-failing:")), []);
    }, {
      php: { CACHE_PREFIX },
      kqueue: { CACHE_PREFIX },
    });
  },
);
