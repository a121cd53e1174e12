/** The child pool with real children: reuse, recycling, idle and health checks, start failures. */
import assert from "node:assert/strict";
import { isAlive, jobRequest, outcomeError, waitUntilGone } from "./isolated_helpers.ts";
import { probe, RecordedPool } from "./pool_helpers.ts";

Deno.test("pool: a reused child runs several jobs (same pid, shared module state) and is retired at maxJobsPerChild", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 3, min: 0 });
  try {
    const runs = [];
    for (let i = 0; i < 4; i++) runs.push(await pool.run(probe("pid")));
    for (const run of runs) assert.deepEqual(run.outcome, { kind: "success" });
    const pids = runs.map((run) => run.pid);
    assert.equal(new Set(pids.slice(0, 3)).size, 1, `first three on one child: ${pids}`);
    assert.notEqual(pids[3], pids[0], "the fourth job gets a new child");
    // The module's counter lives on between the jobs of one child, and starts over in the next.
    assert.deepEqual(runs.map((run) => run.stdout[0]!.replace(/^pid \d+ /, "")), [
      "run 1",
      "run 2",
      "run 3",
      "run 1",
    ]);
    await pool.until(() => pool.exited().length >= 1, "the retired child's exit");
    assert.deepEqual(
      pool.exited().map(({ pid, jobsRun, reason }) => ({ pid, jobsRun, reason })),
      [{ pid: pids[0], jobsRun: 3, reason: "retired" }],
    );
  } finally {
    await pool.close();
  }
});

Deno.test("pool: by default every job gets a fresh child, and the next one is started before it is needed", async () => {
  const pool = new RecordedPool();
  try {
    const first = await pool.run(probe("pid"));
    assert.deepEqual(first.outcome, { kind: "success" });
    // The spare was started while (or right after) the first job ran, without being asked for.
    await pool.until(() => pool.started().length >= 2, "a pre-started second child");
    const spare = pool.started()[1];
    const second = await pool.run(probe("pid"));
    assert.deepEqual(second.outcome, { kind: "success" });
    assert.equal(second.pid, spare, "the second job ran on the pre-started child");
    assert.notEqual(second.pid, first.pid);
    await waitUntilGone(first.pid!, 3_000);
    assert.equal(first.stdout[0], `pid ${first.pid} run 1`);
    assert.equal(second.stdout[0], `pid ${second.pid} run 1`, "no state carried over");
  } finally {
    await pool.close();
  }
});

Deno.test("pool: a child past the RSS threshold is retired after its job", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 100, min: 0, recycleRss: 100 });
  try {
    const small = await pool.run(probe("pid"));
    const grown = await pool.run(probe("grow"));
    assert.equal(grown.pid, small.pid, "reused while it was small");
    assert.deepEqual(grown.outcome, { kind: "success" });
    const next = await pool.run(probe("pid"));
    assert.notEqual(next.pid, grown.pid, "not reused once past 100 MB");
    await pool.until(() => pool.exited().some((e) => e.pid === grown.pid), "the big child's exit");
    assert.equal(pool.exited().find((e) => e.pid === grown.pid)!.reason, "rss");
  } finally {
    await pool.close();
  }
});

Deno.test("pool: idle children end after idleTimeout and are not replaced while the class is unused", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 10, min: 1, idleTimeout: 0.3 });
  try {
    const { pid } = await pool.run(probe("pid"));
    await pool.until(() => pool.exited().some((e) => e.reason === "idle"), "an idle exit");
    assert.equal(pool.exited()[0]!.pid, pid);
    assert.equal(isAlive(pid!), false);
    // Not respawned: two more idle periods pass with no child started.
    const startedBefore = pool.started().length;
    const until = performance.now() + 700;
    while (performance.now() < until) {
      assert.equal(pool.pool.children, 0, "no child was started for an unused class");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(pool.started().length, startedBefore);
  } finally {
    await pool.close();
  }
});

Deno.test("pool: a timed-out child is killed and never reused", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 10, min: 0 });
  try {
    const before = await pool.run(probe("pid"));
    const spun = await pool.run(probe("spin", { timeoutMs: 300 }));
    assert.equal(spun.pid, before.pid, "the spinning job ran on the reused child");
    assert.equal(spun.outcome.kind, "timeout");
    assert.equal(isAlive(spun.pid!), false);
    const after = await pool.run(probe("pid"));
    assert.notEqual(after.pid, spun.pid);
    assert.deepEqual(after.outcome, { kind: "success" });
  } finally {
    await pool.close();
  }
});

Deno.test("pool: a child whose job called Deno.exit, or whose Worker died of an uncaught error, is never reused", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 10, min: 0 });
  try {
    const exited = await pool.run(probe("exit"));
    assert.equal(exited.outcome.kind, "crashed");
    assert.match(outcomeError(exited.outcome).message, /exited with code 4 without reporting/);
    const uncaught = await pool.run(probe("uncaught"));
    assert.notEqual(uncaught.pid, exited.pid);
    // handle() returned, but its timer threw before the result went out, or right after.
    assert.ok(["success", "error"].includes(uncaught.outcome.kind), uncaught.outcome.kind);
    await pool.until(() => pool.exited().some((e) => e.pid === uncaught.pid), "its exit");
    const next = await pool.run(probe("pid"));
    assert.notEqual(next.pid, uncaught.pid);
    assert.deepEqual(next.outcome, { kind: "success" });
  } finally {
    await pool.close();
  }
});

Deno.test("pool: an idle child that fails its health check is killed and replaced on demand", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 10, min: 0, healthCheckInterval: 0.1 });
  try {
    const stuck = await pool.run(probe("leave-spinner"));
    assert.deepEqual(stuck.outcome, { kind: "success" });
    await pool.until(
      () => pool.exited().some((e) => e.pid === stuck.pid && e.reason === "unhealthy"),
      "the unhealthy child's exit",
    );
    const next = await pool.run(probe("pid"));
    assert.notEqual(next.pid, stuck.pid);
    assert.deepEqual(next.outcome, { kind: "success" });
  } finally {
    await pool.close();
  }
});

Deno.test("pool: stderr written just before the result belongs to that job, on a reused child too", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 50, min: 0 });
  try {
    for (let i = 0; i < 20; i++) {
      const run = await pool.run(probe(i % 2 === 0 ? "stderr" : "pid"));
      if (i % 2 === 0) assert.deepEqual(run.stderr, [`stderr of run ${i + 1}`]);
      else assert.deepEqual(run.stderr, []);
    }
    assert.equal(pool.started().length, 1, "all twenty on one child");
  } finally {
    await pool.close();
  }
});

Deno.test("pool: a module that throws at import gives each attempt one clear failure, and spawns stay bounded", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 1, min: 1 });
  try {
    const request = jobRequest("throws_at_import.ts", "NeverLoadedJob");
    const outcomes = [];
    for (let i = 0; i < 10; i++) outcomes.push((await pool.run(request)).outcome);
    outcomes.push(
      ...(await Promise.all([1, 2, 3, 4].map(() => pool.run(request)))).map((r) => r.outcome),
    );
    assert.equal(outcomes.length, 14);
    for (const outcome of outcomes) {
      assert.equal(outcome.kind, "crashed");
      const message = outcomeError(outcome).message;
      assert.ok(
        message.startsWith(`Could not load NeverLoadedJob from ${request.moduleUrl}`),
        message,
      );
      assert.match(message, /Error: boom while importing/);
    }
    assert.match(
      outcomeError(outcomes[5]!).message,
      /failed to start [\d.]+ s ago; the next start is tried in/,
    );
    assert.ok(pool.startFailures() <= 2, `${pool.startFailures()} children were started`);
    // Backed off: no job asks, so nothing is started again, not even after the back-off.
    const failures = pool.startFailures();
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      assert.equal(pool.startFailures(), failures);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(pool.pool.children, 0);
  } finally {
    await pool.close();
  }
});

Deno.test("pool: close() ends every child, idle or busy, and fails a waiting attempt", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 10, min: 2 }, 1);
  const idle = await pool.run(probe("pid"));
  await pool.until(() => pool.started().length >= 2, "two warm children");
  let busyPid = 0;
  const busy = pool.pool.run(probe("spin", { timeoutMs: 0 }), { onSpawn: (pid) => busyPid = pid });
  await pool.until(() => busyPid > 0, "the spinning job");
  await pool.close();
  const spun = await busy;
  assert.equal(spun.kind, "crashed");
  assert.match(outcomeError(spun).message, /forced shutdown/);
  for (const pid of pool.started()) {
    assert.equal(isAlive(pid), false, `child ${pid} outlived close()`);
  }
  assert.ok(pool.started().includes(idle.pid!));
  const late = await pool.run(probe("pid"));
  assert.equal(late.outcome.kind, "crashed");
  assert.match(outcomeError(late.outcome).message, /not started: a forced shutdown/);
});

Deno.test("pool: spawns are rate-capped (fresh children: 4 jobs at 2 spawns a second take over a second)", async () => {
  const pool = new RecordedPool({ maxJobsPerChild: 1, min: 0, spawnRate: 2 });
  try {
    const started = performance.now();
    for (let i = 0; i < 4; i++) {
      assert.deepEqual((await pool.run(probe("pid"))).outcome, { kind: "success" });
    }
    const elapsed = performance.now() - started;
    // A bucket of 2 tokens at 2/s: spawns 3 and 4 wait ~0.5 s each.
    assert.ok(elapsed >= 900, `4 spawns took only ${elapsed.toFixed(0)} ms`);
  } finally {
    await pool.close();
  }
});
