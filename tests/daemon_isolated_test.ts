import assert from "node:assert/strict";
import { isEvent, runToDrain } from "./helpers/daemon_process.ts";
import { dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import { ConcurrencyProbe } from "./fixtures/jobs/probe_jobs.ts";
import { CpuSpin, MemoryHog, ReadsUndeclared } from "./fixtures/jobs/isolated_probes.ts";

Deno.test("daemon: a CPU-looping isolated job is killed at its timeout while inline jobs keep completing", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/inline.txt`;
    await dispatchTo(q, CpuSpin);
    await dispatchTo(q, ConcurrencyProbe, { ms: 100, file }, { count: 10 });
    const daemon = await runToDrain(q.env(), ["--concurrency=2"]);
    const spinStart = daemon.events.findIndex(isEvent("job:started", "CpuSpin"));
    const spinFailed = daemon.events.findIndex(isEvent("job:failed", "CpuSpin"));
    assert.ok(spinStart >= 0 && spinFailed > spinStart);
    const failed = daemon.events[spinFailed]!;
    assert.equal(failed.error!.name, "TimeoutExceededError");
    assert.ok(
      (failed.durationMs as number) >= 1000 && (failed.durationMs as number) < 5000,
      `killed near its 1 s deadline (${failed.durationMs} ms)`,
    );
    const inlineDoneWhileSpinning = daemon.events
      .slice(spinStart, spinFailed)
      .filter(isEvent("job:done", "ConcurrencyProbe")).length;
    assert.ok(
      inlineDoneWhileSpinning >= 5,
      `inline jobs completed while the child spun (${inlineDoneWhileSpinning})`,
    );
    assert.equal((await readLines(file)).length, 10);
    const [row] = await q.connection.failed.list();
    assert.match(row!.exception, /^TimeoutExceededError: CpuSpin/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a memory-hungry isolated job is killed with a memory cause", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, MemoryHog);
    const daemon = await runToDrain(q.env());
    const failed = await daemon.waitFor(isEvent("job:failed", "MemoryHog"));
    assert.equal(failed.error!.name, "MemoryLimitExceededError");
    assert.match(failed.error!.message, /128 MB/);
    const [row] = await q.connection.failed.list();
    assert.match(row!.exception, /^MemoryLimitExceededError/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: an isolated job reading an undeclared file fails with a permission cause; the daemon goes on", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/after.txt`;
    await dispatchTo(q, ReadsUndeclared);
    await dispatchTo(q, ConcurrencyProbe, { ms: 10, file });
    const daemon = await runToDrain(q.env());
    const failed = daemon.events.find(isEvent("job:failed", "ReadsUndeclared"))!;
    assert.equal(failed.error!.name, "PermissionDeniedError");
    assert.match(failed.error!.message, /\/etc\/hostname/);
    assert.equal(
      daemon.events.filter(isEvent("job:released")).length,
      0,
      "a denial is not retried",
    );
    assert.equal((await readLines(file)).length, 1);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a payload cannot switch off or lengthen an isolated job's timeout", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, CpuSpin);
    const db = new (await import("node:sqlite")).DatabaseSync(q.databasePath);
    db.exec(`UPDATE jobs SET payload = replace(payload, '"timeout":1,', '"timeout":0,')`);
    const row = db.prepare("SELECT payload FROM jobs").get() as { payload: string };
    db.close();
    assert.equal(JSON.parse(row.payload).timeout, 0, "the payload now says: no timeout");
    const daemon = await runToDrain(q.env());
    const failed = daemon.events.find(isEvent("job:failed", "CpuSpin"))!;
    assert.equal(failed.error!.name, "TimeoutExceededError", "killed at the class's 1 s anyway");
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: an isolated job's failed() runs once in the sandbox and its output reaches the log", async () => {
  const q = await tempQueue();
  try {
    const { IsolatedFailsLoudly } = await import("./fixtures/jobs/isolated_probes.ts");
    await dispatchTo(q, IsolatedFailsLoudly, { orderId: 7 });
    const daemon = await runToDrain(q.env());
    const lines = daemon.events.filter(isEvent("job:output", "IsolatedFailsLoudly")).map((e) =>
      e.line
    );
    assert.deepEqual(lines, ["failed() in the child: order 7 cannot be shipped"]);
    assert.equal(daemon.events.filter(isEvent("job:failed")).length, 1);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: an isolated job's failed() takes an isolated slot too: with --isolated-concurrency=1 no two children run job code at once", async () => {
  const q = await tempQueue();
  try {
    const { SlowFailedHook } = await import("./fixtures/jobs/isolated_probes.ts");
    for (const label of ["a", "b", "c"]) await dispatchTo(q, SlowFailedHook, { label });
    const daemon = await runToDrain(q.env(), ["--isolated-concurrency=1", "--concurrency=5"]);

    // What the children printed, as they printed it: [phase label, start ms, end ms].
    const spans = new Map<string, { start?: number; end?: number }>();
    for (const event of daemon.events.filter(isEvent("job:output", "SlowFailedHook"))) {
      const [, phase, label, edge, at] = String(event.line).split(" ");
      const span = spans.get(`${phase} ${label}`) ?? {};
      span[edge as "start" | "end"] = Number(at);
      spans.set(`${phase} ${label}`, span);
    }
    const runs = [...spans].map(([what, { start, end }]) => ({ what, start: start!, end: end! }))
      .sort((x, y) => x.start - y.start);
    assert.deepEqual(
      runs.map((run) => run.what).sort(),
      ["failed a", "failed b", "failed c", "handle a", "handle b", "handle c"],
      "every handle() and failed() ran, each to its end",
    );
    for (let i = 1; i < runs.length; i++) {
      const [before, after] = [runs[i - 1]!, runs[i]!];
      assert.ok(
        after.start >= before.end,
        `${after.what} started at ${after.start}, while ${before.what} ran until ${before.end}: ` +
          `two children at once with --isolated-concurrency=1 (${JSON.stringify(runs)})`,
      );
    }
    assert.equal(daemon.events.filter(isEvent("job:failed", "SlowFailedHook")).length, 3);
    assert.equal(daemon.events.filter(isEvent("job:failed-hook-error")).length, 0);
    assert.equal((await q.connection.failed.list()).length, 3);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: an isolated job starts (job:started, its duration) when it has its slot, not while it waits for one", async () => {
  const q = await tempQueue();
  try {
    const { SlowFailedHook } = await import("./fixtures/jobs/isolated_probes.ts");
    for (const label of ["a", "b", "c"]) {
      await dispatchTo(q, SlowFailedHook, { label, handleMs: 700, hookMs: 10 });
    }
    const daemon = await runToDrain(q.env(), ["--isolated-concurrency=1", "--concurrency=5"]);
    const failed = daemon.events.filter(isEvent("job:failed", "SlowFailedHook"));
    assert.equal(failed.length, 3);
    // Each waited for the others' 700 ms runs; none of that is its own time.
    for (const event of failed) {
      const ms = event.durationMs as number;
      assert.ok(ms >= 700 && ms < 1300, `a 700 ms attempt reported ${ms} ms`);
    }
  } finally {
    await q.cleanup();
  }
});
