/** The child pool through the real daemon: reuse, failures per attempt, and no child left behind. */
import assert from "node:assert/strict";
import {
  type DaemonEvent,
  DaemonProcess,
  exitedOk,
  FIXTURE_JOBS,
  isEvent,
  runToDrain,
} from "./helpers/daemon_process.ts";
import { dispatchTo, tempQueue } from "./helpers/temp_project.ts";
import { ExitsMidJob, IsolatedPid, LongSpin } from "./fixtures/jobs/pool_probes.ts";
import { ThrowsInChild } from "./fixtures/jobs/throws_in_child.ts";
import { isAlive, waitUntilGone } from "./isolated_helpers.ts";

/** The pids that ran IsolatedPid jobs, in order. */
function jobPids(events: DaemonEvent[]): number[] {
  return events.filter(isEvent("job:output", "IsolatedPid")).map((e) =>
    Number(/^pid (\d+)$/.exec(String(e.line))?.[1])
  );
}

function childPids(events: DaemonEvent[]): number[] {
  return events.filter(isEvent("child:started")).map((e) => e.pid as number);
}

Deno.test("daemon: --max-jobs-per-child runs jobs on one reused child; by default each job gets a fresh one", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, IsolatedPid, {}, { count: 6 });
    const reused = await runToDrain(q.env(), [
      "--isolated-concurrency=1",
      "--max-jobs-per-child=50",
    ]);
    const reusedPids = jobPids(reused.events);
    assert.equal(reusedPids.length, 6);
    assert.equal(new Set(reusedPids).size, 1, `one child for all: ${reusedPids}`);

    await dispatchTo(q, IsolatedPid, {}, { count: 6 });
    const fresh = await runToDrain(q.env(), ["--isolated-concurrency=1"]);
    const freshPids = jobPids(fresh.events);
    assert.equal(freshPids.length, 6);
    assert.equal(new Set(freshPids).size, 6, `a new child each: ${freshPids}`);
    for (const pid of [...reusedPids, ...freshPids]) assert.equal(isAlive(pid), false);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a job whose module throws at import fails once per attempt with the load error; spawns stay bounded", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, ThrowsInChild, {}, { count: 8 });
    const daemon = await runToDrain(q.env(), ["--isolated-concurrency=2"]);
    const released = daemon.events.filter(isEvent("job:released", "ThrowsInChild"));
    const failed = daemon.events.filter(isEvent("job:failed", "ThrowsInChild"));
    assert.equal(released.length, 8, "each job's first attempt: one failure, then a retry");
    assert.equal(failed.length, 8, "each job's second attempt: one failure, then failed_jobs");
    for (const event of [...released, ...failed]) {
      assert.match(
        (event.error as { message: string }).message,
        /^Could not load ThrowsInChild from file:\S+throws_in_child\.ts: Error: boom while importing in the child/,
      );
    }
    const starts = daemon.events.filter(isEvent("child:start-failed")).length;
    assert.ok(starts >= 1 && starts <= 4, `${starts} children were started for 16 attempts`);
    const rows = await q.connection.failed.list();
    assert.equal(rows.length, 8);
    for (const row of rows) assert.match(row.exception, /boom while importing in the child/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a child that exits mid-job fails that attempt at once with its exit code", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, ExitsMidJob);
    const daemon = await runToDrain(q.env());
    const failed = daemon.events.find(isEvent("job:failed", "ExitsMidJob"))!;
    assert.equal(failed.error!.name, "ChildCrashedError");
    assert.match(failed.error!.message, /ExitsMidJob's child exited with code 5 without reporting/);
    assert.ok((failed.durationMs as number) < 5_000, `failed after ${failed.durationMs} ms`);
  } finally {
    await q.cleanup();
  }
});

/** A daemon that keeps running (no --stop-when-drained), with warm reused children. */
function longRunningDaemon(env: Record<string, string>): DaemonProcess {
  return new DaemonProcess([
    "work",
    "--json",
    "--jobs",
    FIXTURE_JOBS,
    "--sleep=1",
    "--isolated-concurrency=2",
    "--max-jobs-per-child=100",
    "--pool-min=2",
    "--shutdown-timeout=30",
  ], env);
}

Deno.test("daemon: no child outlives the daemon after SIGTERM (the pool is drained)", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, IsolatedPid, {}, { count: 10 });
    const daemon = longRunningDaemon(q.env());
    await daemon.waitForCount(isEvent("job:done", "IsolatedPid"), 10);
    await daemon.waitForCount(isEvent("child:started"), 2, 20_000, "two warm children");
    const children = childPids(daemon.events);
    for (const pid of children) assert.ok(isAlive(pid), `child ${pid} is warm before the stop`);
    daemon.kill("SIGTERM");
    await exitedOk(daemon);
    for (const pid of childPids(daemon.events)) {
      assert.equal(isAlive(pid), false, `child ${pid} outlived the daemon`);
    }
    const exits = daemon.events.filter(isEvent("child:exited"));
    assert.equal(exits.length, childPids(daemon.events).length, "every child's exit was seen");
    assert.ok(exits.every((e) => e.reason === "shutdown"), JSON.stringify(exits));
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a clean stop while a warm child is still starting is no start failure", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, IsolatedPid, {}, { count: 3 });
    // Drained right after the last job: its replacement child is still starting then.
    const daemon = await runToDrain(q.env());
    assert.equal(daemon.events.filter(isEvent("job:done", "IsolatedPid")).length, 3);
    assert.deepEqual(daemon.events.filter(isEvent("child:start-failed")), []);
    const exits = daemon.events.filter(isEvent("child:exited"));
    assert.ok(exits.every((e) => e.reason !== "start-failed"), JSON.stringify(exits));
    assert.ok(
      !daemon.stderr.some((line) => /failed to start/.test(line)),
      daemon.stderr.join("\n"),
    );
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: no child outlives a forced shutdown, and the job it ran goes back", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, IsolatedPid, {}, { count: 2 });
    const daemon = longRunningDaemon(q.env());
    await daemon.waitForCount(isEvent("job:done", "IsolatedPid"), 2);
    await dispatchTo(q, LongSpin);
    await daemon.waitFor((e) => e.event === "job:output" && /^spinning in/.test(String(e.line)));
    daemon.kill("SIGTERM");
    await daemon.waitFor(isEvent("worker:stopping"));
    daemon.kill("SIGTERM"); // the second one forces
    await exitedOk(daemon);
    for (const pid of childPids(daemon.events)) {
      assert.equal(isAlive(pid), false, `child ${pid} outlived the daemon`);
    }
    assert.ok(daemon.events.some(isEvent("job:requeued", "LongSpin")));
    const counts = await q.connection.driver.counts("default");
    assert.equal(counts.ready, 1, "the spinning job is back on the queue");
    const stopped = daemon.events.find(isEvent("worker:stopped"))!;
    assert.equal(stopped.processed, 2, "the two that finished, not the one put back");
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: after a SIGKILL of the daemon its idle pooled children exit on their own", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, IsolatedPid, {}, { count: 4 });
    const daemon = longRunningDaemon(q.env());
    await daemon.waitForCount(isEvent("job:done", "IsolatedPid"), 4);
    await daemon.waitForCount(isEvent("child:started"), 2, 20_000, "two warm children");
    daemon.kill("SIGKILL");
    await daemon.finished();
    for (const pid of childPids(daemon.events)) await waitUntilGone(pid, 3_000);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: pool flags are checked up front with one-line errors", async () => {
  const q = await tempQueue();
  try {
    for (
      const [flags, message] of [
        [["--pool-min=3", "--pool-max=2"], /'pool\.min' \(3\) must not exceed 'pool\.max' \(2\)/],
        [["--max-jobs-per-child=0"], /--max-jobs-per-child=0 is not valid: it must be a positive/],
        [["--spawn-rate=-1"], /--spawn-rate=-1 is not valid/],
      ] as const
    ) {
      const daemon = new DaemonProcess(["work", "--jobs", FIXTURE_JOBS, ...flags], q.env());
      const status = await daemon.finished();
      assert.equal(status.code, 2, flags.join(" "));
      assert.match(daemon.stderr.join("\n"), message);
    }
  } finally {
    await q.cleanup();
  }
});
