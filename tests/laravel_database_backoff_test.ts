/**
 * Both workers on one queue: a job released with backoff by one is taken by
 * the other at its available_at, never before, with attempts (and Laravel's
 * maxExceptions counter in the cache table) carried across.
 *
 * These wait for backoffs in real time (1–3 s, bounded): both sides store
 * whole unix seconds, so there is no clock to fake across two processes.
 */
import assert from "node:assert/strict";
import { isEvent } from "./helpers/daemon_process.ts";
import {
  CACHE_PREFIX,
  laravelTest,
  processedLines,
  untilUnixSecond,
  withLaravelQueue,
} from "./laravel/harness.ts";

laravelTest(
  "KQueue releases with the payload's backoff (3 s); Laravel's worker skips it until available_at, then runs attempt 2",
  async () => {
    await withLaravelQueue(async (q) => {
      // backoff() = [3, 6] in PHP; the TS class says [1, 2], and the payload's must win.
      await q.dispatch("FlakyJob", { succeedOn: 2, retryDelay: 3 });
      const [dispatched] = q.jobs();
      assert.equal(dispatched!.decoded.backoff, "3,6");

      const daemon = await q.drain("--once"); // takes the job, releases it, stops
      const released = daemon.events.filter(isEvent("job:released"));
      assert.equal(released.length, 1, daemon.stderr.join("\n"));
      assert.equal(released[0]!.delaySeconds, 3);
      const [row] = q.jobs();
      const [kqueueRun] = await q.runs();
      assert.equal(row!.attempts, 1);
      assert.equal(row!.reserved_at, null);
      // KQueue rounds available_at up (never early); Laravel would floor (up to 1 s early).
      assert.ok(row!.available_at * 1000 >= kqueueRun!.at + 3000, "not before the 3 s backoff");
      assert.ok(row!.available_at * 1000 <= Date.now() + 4000, "and not much later");
      assert.deepEqual(row!.decoded, dispatched!.decoded, "the released row keeps the payload");

      const early = await q.php("work.php", "--once");
      assert.ok(
        Date.now() < row!.available_at * 1000,
        "the early run finished before available_at",
      );
      assert.deepEqual(processedLines(early.stdout), [], "Laravel did not take it early");
      assert.deepEqual(q.jobs().map((r) => [r.id, r.attempts, r.reserved_at]), [[
        row!.id,
        1,
        null,
      ]]);

      await untilUnixSecond(row!.available_at);
      const due = await q.php("work.php", "--once");
      assert.equal(processedLines(due.stdout).filter((l) => /Processed:/.test(l)).length, 1);
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt]), [["kqueue", 1], ["php", 2]]);
      assert.ok(runs[1]!.at >= row!.available_at * 1000);
      assert.equal(runs[1]!.uuid, dispatched!.decoded.uuid);
      assert.equal(q.jobs().length, 0);
    });
  },
);

laravelTest(
  "Laravel's worker releases with backoff (2 s); the KQueue daemon waits for available_at and runs attempt 2",
  async () => {
    await withLaravelQueue(async (q) => {
      await q.dispatch("FlakyJob", { succeedOn: 2, retryDelay: 2 });
      const first = await q.php("work.php", "--once");
      assert.equal(processedLines(first.stdout).length, 1); // Processing, then released
      assert.deepEqual((await q.reports()).map((r) => [r.class, r.message]), [
        ["RuntimeException", "flaky failure on attempt 1"],
      ]);
      const [row] = q.jobs();
      assert.equal(row!.attempts, 1);

      const spawnedAt = Date.now();
      assert.ok(spawnedAt < row!.available_at * 1000, "the daemon starts before available_at");
      const daemon = await q.drain();
      const done = daemon.events.filter(isEvent("job:done"));
      assert.equal(done.length, 1, daemon.stderr.join("\n"));
      assert.equal(done[0]!.job!.attempt, 2, "Laravel's attempt is counted");
      assert.equal(daemon.events.filter(isEvent("job:released")).length, 0);
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt]), [["php", 1], ["kqueue", 2]]);
      assert.ok(
        runs[1]!.at >= row!.available_at * 1000,
        `KQueue ran it at ${runs[1]!.at}, available_at ${row!.available_at}`,
      );
      assert.equal(q.jobs().length, 0);
    });
  },
);

laravelTest(
  "maxExceptions is counted across both: 1 exception in Laravel + 2 in KQueue fail it on the 3rd",
  async () => {
    await withLaravelQueue(async (q) => {
      await q.dispatch("ConfiguredJob", { throwUntil: 99 }); // maxExceptions 3, backoff "1,2"
      const uuid: string = q.jobs()[0]!.decoded.uuid;
      const key = `${CACHE_PREFIX}job-exceptions:${uuid}`;

      await q.php("work.php", "--once");
      assert.deepEqual(
        q.rows("SELECT key, value FROM cache"),
        [{ key, value: "i:1;" }],
        "Laravel counted one",
      );

      const daemon = await q.drain();
      const runs = await q.runs();
      assert.deepEqual(runs.map((run) => [run.side, run.attempt]), [
        ["php", 1],
        ["kqueue", 2],
        ["kqueue", 3],
      ]);
      const failed = daemon.events.filter(isEvent("job:failed"));
      assert.equal(failed.length, 1, daemon.stderr.join("\n"));
      assert.equal(failed[0]!.job!.attempt, 3, "the 3rd exception overall, not the 3rd in KQueue");
      assert.deepEqual(
        q.rows("SELECT key FROM cache"),
        [],
        "the counter is forgotten, as Laravel does",
      );
      assert.deepEqual((await q.failed()).map((row) => row.id), [uuid]);
    });
  },
);
