/**
 * A settle that finds the job taken over by another worker: whichever it is
 * (ack, release, requeue, fail), it writes nothing, says so as one
 * `job:reservation-lost` naming the operation, and the CLI logs one line.
 * Two real connections on one SQLite file: while the daemon's job runs, the
 * second takes it over after retry_after (the fake clock moved past it).
 */
import assert from "node:assert/strict";
import { printHumanEvents } from "../src/cli/output.ts";
import { prepareDispatch } from "../src/dispatch.ts";
import type { KQueueEvents } from "../src/events.ts";
import type { Logger } from "../src/log.ts";
import { Daemon, JobRegistry, KQueueJob } from "../src/mod.ts";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { dispatchTo, tempQueue as tempProject } from "./helpers/temp_project.ts";
import { tempQueue } from "./sqlite_fixtures/helpers.ts";
import { SqliteQueue } from "../src/drivers/sqlite/sqlite_queue.ts";
import { WaitsForGo } from "./fixtures/jobs/lease_jobs.ts";

/** Opened by each test: the held jobs return (or throw) once it resolves. */
let gate = Promise.withResolvers<void>();
const failedHookCalls: string[] = [];

/** Runs until the test opens the gate, then ends as `finish()` says. */
class HeldJob extends KQueueJob {
  override async handle(): Promise<void> {
    await gate.promise;
    this.finish();
  }

  finish(): void {}

  override failed(error: Error): void {
    failedHookCalls.push(`${this.constructor.name}: ${error.message}`);
  }
}
class HeldThenSucceeds extends HeldJob {}
class HeldThenRetries extends HeldJob {
  override tries = 3;
  override finish(): void {
    throw new Error("try again");
  }
}
class HeldThenFails extends HeldJob {
  override finish(): void {
    throw new Error("gave up");
  }
}

const SETTLE_EVENTS = [
  "job:done",
  "job:released",
  "job:failed",
  "job:requeued",
  "job:reservation-lost",
] as const;
type SettleEvent = { name: string; operation?: string; id: string };

/**
 * Runs one `Class` job on a daemon, lets another connection take it over
 * while it runs, then ends it with `end` (open the gate, or force a stop).
 */
async function takenOverWhileRunning(
  Class: typeof HeldJob,
  end: (daemon: Daemon) => void,
): Promise<{ settled: SettleEvent[]; warnings: string[]; rows: Record<string, unknown>[] }> {
  const t = await tempQueue({ retryAfter: 90 });
  gate = Promise.withResolvers<void>();
  try {
    const registry = new JobRegistry();
    registry.register(Class);
    await t.queue.push("default", prepareDispatch(Class, {}).payload);
    const daemon = new Daemon({ driver: t.queue, registry, lease: 0, once: true, memory: 0 });
    const settled: SettleEvent[] = [];
    for (const name of SETTLE_EVENTS) {
      daemon.events.on(name, (event: KQueueEvents[typeof name]) =>
        settled.push({
          name,
          id: event.job.id,
          ...("operation" in event ? { operation: event.operation } : {}),
        }));
    }
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (line: string) => warnings.push(line), error: () => {} };
    printHumanEvents(daemon.events, log as unknown as Logger, () => {});
    const started = new Promise((resolve) => daemon.events.on("job:started", resolve));
    const lost = new Promise((resolve) => daemon.events.on("job:reservation-lost", resolve));
    const run = daemon.run();
    await started;

    // Another worker on the same file, once retry_after has passed: the job is its now.
    t.clock.nowMs += 91_000;
    const other = await t.another({ retryAfter: 90 });
    const [takenOver] = await other.reserve(["default"], 1);
    assert.equal(takenOver?.attempts, 2, "the other worker took the job over");

    end(daemon);
    await withDeadline(lost, 5_000, `no job:reservation-lost for ${Class.name}`);
    await run;
    gate.resolve(); // a job a forced stop left running returns now
    return { settled, warnings, rows: t.rows().map((row) => ({ ...row })) };
  } finally {
    gate.resolve();
    await t.cleanup();
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function assertOtherWorkerKeepsIt(rows: Record<string, unknown>[]): void {
  assert.deepEqual(
    rows.map((row) => [row.id, row.attempts, row.reserved_at !== null]),
    [[1, 2, true]],
    "the other worker's reservation is untouched",
  );
}

const opens = () => gate.resolve();

Deno.test("reservation lost: an ack that finds the job taken over says so (job:done was reported: it ran here)", async () => {
  const { settled, warnings, rows } = await takenOverWhileRunning(HeldThenSucceeds, opens);
  assert.deepEqual(settled, [
    { name: "job:done", id: "1" },
    { name: "job:reservation-lost", id: "1", operation: "ack" },
  ]);
  assertOtherWorkerKeepsIt(rows);
  assert.deepEqual(warnings, [
    "HeldThenSucceeds [1]: its ack found the job taken over by another worker (its reservation " +
    "had lapsed), so nothing was written: it succeeded here, but that worker holds it now and " +
    "may run it again",
  ]);
});

Deno.test("reservation lost: a release that finds the job taken over writes no retry and says so", async () => {
  const { settled, warnings, rows } = await takenOverWhileRunning(HeldThenRetries, opens);
  assert.deepEqual(settled, [{ name: "job:reservation-lost", id: "1", operation: "release" }]);
  assertOtherWorkerKeepsIt(rows);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^HeldThenRetries \[1\]: its release found the job taken over/);
});

Deno.test("reservation lost: a fail that finds the job taken over writes no failed_jobs row and calls no failed()", async () => {
  failedHookCalls.length = 0;
  const { settled, warnings, rows } = await takenOverWhileRunning(HeldThenFails, opens);
  assert.deepEqual(settled, [{ name: "job:reservation-lost", id: "1", operation: "fail" }]);
  assertOtherWorkerKeepsIt(rows);
  assert.deepEqual(failedHookCalls, [], "failed() is the other worker's to call");
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /^HeldThenFails \[1\]: its fail found the job taken over .*: no failed_jobs row, and failed\(\) was not called/,
  );
});

Deno.test("reservation lost: a forced shutdown's requeue that finds the job taken over puts nothing back and says so", async () => {
  const { settled, warnings, rows } = await takenOverWhileRunning(
    HeldThenSucceeds,
    (daemon) => daemon.stop(), // already stopping (--once): a second stop forces
  );
  assert.deepEqual(settled, [{ name: "job:reservation-lost", id: "1", operation: "requeue" }]);
  assertOtherWorkerKeepsIt(rows);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^HeldThenSucceeds \[1\]: its requeue found the job taken over/);
});

Deno.test("reservation lost: the CLI daemon logs one line naming the job and the operation", async () => {
  const q = await tempProject();
  const fifo = `${q.dir}/go`;
  const mkfifo = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(mkfifo.code, 0);
  // The other worker: its own connection to the file, its clock an hour ahead (past retry_after).
  const other = await SqliteQueue.open({
    path: q.databasePath,
    retryAfter: 90,
    clock: () => Date.now() + 3_600_000,
  });
  try {
    await dispatchTo(q, WaitsForGo, { fifo });
    const daemon = new DaemonProcess(
      ["work", "--jobs", FIXTURE_JOBS, "--stop-when-empty"],
      q.env(),
    );
    await daemon.waitFor((event) => event.event === "probe:waiting");
    const [takenOver] = await other.reserve(["default"], 1);
    assert.equal(takenOver?.attempts, 2, "the other worker took the job over");
    await Deno.writeTextFile(fifo, "go\n"); // the job returns: its ack finds the job gone
    const status = await daemon.finished();
    assert.equal(status.code, 0, daemon.stderr.join("\n"));
    const lost = daemon.stderr.filter((line) => /taken over/.test(line));
    assert.equal(lost.length, 1, daemon.stderr.join("\n"));
    assert.match(
      lost[0]!,
      /\[WRN\] kqueue: WaitsForGo \[1\]: its ack found the job taken over by another worker \(its reservation had lapsed\), so nothing was written: it succeeded here, but that worker holds it now and may run it again$/,
    );
    assert.equal(daemon.events.filter(isEvent("job:reservation-lost")).length, 0, "human mode");
    assert.equal(await other.ack(takenOver!), true, "the job is the other worker's to finish");
  } finally {
    await other.close();
    await q.cleanup();
  }
});
