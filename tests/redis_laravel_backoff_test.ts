/**
 * Both workers on one Redis queue: a job released with backoff by one sits in
 * `:delayed` (the reserved copy, attempts counted) and is taken by the other
 * at its score, never before. The Redis twin of laravel_database_backoff_test.ts.
 * Waits for two 2 s backoffs in real time: Laravel scores whole unix seconds.
 */
import assert from "node:assert/strict";
import { prepareDispatch } from "../src/mod.ts";
import { isEvent } from "./helpers/daemon_process.ts";
import { laravelTest, processedLines, untilUnixSecond } from "./laravel/harness.ts";
import { FlakyJob } from "./laravel/ts_jobs/laravel_jobs.ts";
import { withLaravelRedis } from "./redis_fixtures/laravel_redis.ts";

const P = "laravel_database_";
const DELAYED = `${P}queues:default:delayed`;

/** App\Jobs\FlakyJob dispatched by KQueue with backoff [2, 4]: the daemon's twin says [1, 2]. */
class FlakyJobSlowBackoff extends FlakyJob {
  override backoff = [2, 4];
}

laravelTest(
  "redis: KQueue releases with the payload's backoff (2 s); Laravel's worker skips it until due, then runs attempt 2",
  async () => {
    await withLaravelRedis(async (q) => {
      const raw = q.server.client();
      const prepared = prepareDispatch(FlakyJobSlowBackoff, { succeedOn: 2 });
      const id = await q.connection.driver.push("default", prepared.payload);
      const dispatched = JSON.parse((await raw.lrange(`${P}queues:default`, 0, 0))[0]!);
      assert.equal(dispatched.backoff, "2,4");

      const daemon = await q.drain("--once"); // takes it, releases it, stops
      const released = daemon.events.filter(isEvent("job:released"));
      assert.deepEqual(released.map((e) => e.delaySeconds), [2], daemon.stderr.join("\n"));
      const [kqueueRun] = await q.runs();
      const delayed = await raw.zrange(DELAYED, 0, -1, "WITHSCORES");
      assert.equal(delayed.length, 2, "one member in :delayed");
      assert.deepEqual(
        JSON.parse(delayed[0]!),
        { ...dispatched, attempts: 1 },
        "the reserved copy",
      );
      const due = Number(delayed[1]);
      // KQueue rounds the score up (never early); Laravel would floor.
      assert.ok(due * 1000 >= kqueueRun!.at + 2000, "not before the 2 s backoff");
      assert.ok(due * 1000 <= Date.now() + 3000, "and not much later");
      assert.equal(await raw.exists(`${P}queues:default`, `${P}queues:default:reserved`), 0);

      const early = await q.workOnce();
      assert.ok(Date.now() < due * 1000, "the early run finished before the score");
      assert.deepEqual(processedLines(early), [], "Laravel did not take it early");
      assert.equal(await raw.zcard(DELAYED), 1, "still in :delayed");

      await untilUnixSecond(due);
      const late = await q.workOnce();
      assert.match(late, new RegExp(`\\[${id}\\] Processed:\\s+App\\\\Jobs\\\\FlakyJob`));
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt, run.uuid, run.jobId]), [
        ["kqueue", 1, prepared.uuid, id],
        ["php", 2, prepared.uuid, id],
      ]);
      assert.ok(runs[1]!.at >= due * 1000);
      assert.deepEqual(await raw.keys("*"), []);
    });
  },
);

laravelTest(
  "redis: Laravel's worker releases with backoff (2 s); the KQueue daemon waits for the score and runs attempt 2",
  async () => {
    await withLaravelRedis(async (q) => {
      const raw = q.server.client();
      await q.dispatch("FlakyJob", { succeedOn: 2, retryDelay: 2 }); // backoff "2,4"
      const first = await q.workOnce();
      assert.match(first, /Processing:\s+App\\Jobs\\FlakyJob/);
      assert.doesNotMatch(first, /Processed:/);
      const delayed = await raw.zrange(DELAYED, 0, -1, "WITHSCORES");
      assert.equal(delayed.length, 2, "Laravel released it to :delayed");
      const member = JSON.parse(delayed[0]!);
      const due = Number(delayed[1]);
      assert.equal(member.attempts, 1, "Laravel's reserved copy, attempts counted");

      assert.ok(Date.now() < due * 1000, "the daemon starts before the score");
      const daemon = await q.drain();
      const done = daemon.events.filter(isEvent("job:done"));
      assert.deepEqual(done.map((e) => e.job!.attempt), [2], daemon.stderr.join("\n"));
      assert.equal(daemon.events.filter(isEvent("job:released")).length, 0);
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt]), [["php", 1], ["kqueue", 2]]);
      assert.ok(runs[1]!.at >= due * 1000, `KQueue ran it at ${runs[1]!.at}, due ${due}`);
      assert.deepEqual([runs[1]!.uuid, runs[1]!.jobId], [member.uuid, member.id]);
      assert.deepEqual(await raw.keys("*"), []);
    });
  },
);
