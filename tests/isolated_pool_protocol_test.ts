/**
 * Children that break the protocol, for real: a rogue runner (a process that
 * knows the nonce, as only the trusted runner does) speaks it wrongly, and the
 * pool must kill it and never reuse it.
 */
import assert from "node:assert/strict";
import type { ChildProfile } from "../src/executor/child_profile.ts";
import { runOnChild, startFailureOutcome } from "../src/executor/child_run.ts";
import { ClassPool } from "../src/executor/class_pool.ts";
import type { AttemptOutcome } from "../src/executor/outcome.ts";
import { resolvePoolOptions } from "../src/executor/pool_options.ts";
import { SpawnLimiter } from "../src/executor/spawn_limiter.ts";
import {
  fixturePath,
  jobRequest,
  outcomeError,
  PROJECT_ROOT,
  waitUntilGone,
} from "./isolated_helpers.ts";

const ROGUE = fixturePath("rogue_runner.ts");

function roguePool(mode: string, startTimeout = 10, cwd = PROJECT_ROOT) {
  const profile: ChildProfile = {
    key: mode,
    jobName: "Rogue",
    moduleUrl: "file:///rogue.ts",
    args: ["run", "--no-prompt", "--allow-all", ROGUE], // close-stdout needs FFI and /proc
    cwd,
    envNames: [],
    setup: { moduleUrl: "file:///rogue.ts", exportName: mode, graceMs: 200, revokeReads: [] },
  };
  return new ClassPool(profile, {
    options: resolvePoolOptions({ maxJobsPerChild: 100, min: 0, startTimeout }, 1),
    limiter: new SpawnLimiter(100, 100),
    killGraceMs: 200,
    rssPollMs: 25,
    events: { started() {}, exited() {}, startFailed() {} },
  });
}

/** One job through the pool, as IsolatedPool.run does it. */
async function runOne(pool: ClassPool, timeoutMs = 5_000) {
  const request = jobRequest("basic_jobs.ts", "Rogue", { jobName: "Rogue", timeoutMs });
  const stdout: string[] = [];
  const lease = await pool.acquire();
  if (!("child" in lease)) {
    assert.ok("failure" in lease);
    const { facts, note } = lease.failure;
    return { outcome: startFailureOutcome(request, facts, note, {}, []), pid: undefined, stdout };
  }
  const { outcome, report } = await runOnChild(lease.child, request, {
    onOutput: (stream, line) => stream === "stdout" && stdout.push(line),
  });
  pool.release(lease.child, report);
  return { outcome, pid: lease.child.pid, stdout };
}

function assertBroken(outcome: AttemptOutcome, reason: RegExp): void {
  assert.equal(outcome.kind, "crashed");
  assert.match(outcomeError(outcome).message, /^Rogue's child broke the protocol: /);
  assert.match(outcomeError(outcome).message, reason);
}

Deno.test("protocol: the well-behaved rogue runner is reused (the harness itself works)", async () => {
  const pool = roguePool("well-behaved");
  try {
    const first = await runOne(pool);
    const second = await runOne(pool);
    assert.deepEqual(first.outcome, { kind: "success" });
    assert.deepEqual(second.outcome, { kind: "success" });
    assert.equal(second.pid, first.pid);
  } finally {
    await pool.close();
  }
});

for (
  const [mode, what, reason] of [
    ["second-result", "writes a second result frame", /it wrote a second result frame/],
    [
      "garbage-frame",
      "writes garbage after the nonce",
      /its frame is unreadable \(the frame is not JSON\)/,
    ],
    [
      "wrong-seq",
      "answers for a job it is not running",
      /it wrote a result for a job it was not running/,
    ],
    ["close-stdout", "closes its stdout", /it closed its stdout/],
  ] as const
) {
  Deno.test(`protocol: a child that ${what} is killed and never reused`, async () => {
    const pool = roguePool(mode);
    try {
      const broken = await runOne(pool);
      assertBroken(broken.outcome, reason);
      await waitUntilGone(broken.pid!, 2_000);
      const next = await runOne(pool);
      assert.notEqual(next.pid, broken.pid, "a new child for the next job");
    } finally {
      await pool.close();
    }
  });
}

Deno.test("protocol: an unframed result is only output: it cannot end the job", async () => {
  const pool = roguePool("unframed");
  try {
    const run = await runOne(pool, 400);
    assert.equal(run.outcome.kind, "timeout");
    assert.deepEqual(run.stdout, ['{"type":"result","seq":1,"result":{"kind":"success"}}']);
    await waitUntilGone(run.pid!, 2_000);
  } finally {
    await pool.close();
  }
});

Deno.test("protocol: a result whose promised stderr marker never comes is kept, but its child is not reused", async () => {
  const pool = roguePool("lost-marker");
  try {
    const first = await runOne(pool);
    assert.deepEqual(first.outcome, { kind: "success" });
    await waitUntilGone(first.pid!, 3_000);
    const next = await runOne(pool);
    assert.notEqual(next.pid, first.pid);
  } finally {
    await pool.close();
  }
});

Deno.test("protocol: a child that never reports ready is killed at the start-up deadline", async () => {
  const pool = roguePool("never-ready", 0.5);
  try {
    const started = performance.now();
    const { outcome } = await runOne(pool);
    assert.equal(outcome.kind, "crashed");
    assert.match(
      outcomeError(outcome).message,
      /^Rogue's child did not finish loading file:\S+ within 0\.5 s .* and was killed$/,
    );
    assert.ok(performance.now() - started < 3_000);
    assert.equal(pool.size, 0, "the child is gone");
  } finally {
    await pool.close();
  }
});

Deno.test("protocol: a child that cannot be spawned is a clear failure, and the class backs off", async () => {
  const pool = roguePool("well-behaved", 10, "/nonexistent/kqueue-cwd");
  try {
    const first = await runOne(pool);
    assert.equal(first.outcome.kind, "crashed");
    assert.match(
      outcomeError(first.outcome).message,
      /Could not start the child process for Rogue: /,
    );
    const second = await runOne(pool);
    assert.match(
      outcomeError(second.outcome).message,
      /Could not start the child process for Rogue: .*failed to start [\d.]+ s ago/,
    );
    assert.equal(pool.size, 0);
  } finally {
    await pool.close();
  }
});
