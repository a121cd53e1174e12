/** The subprocess executor's outcomes, with real child processes. */
import assert from "node:assert/strict";
import {
  ChildCrashedError,
  PayloadError,
  serializeError,
  TimeoutExceededError,
  UnrecoverableError,
} from "../src/errors.ts";
import { runIsolated } from "../src/executor/subprocess_executor.ts";
import {
  isAlive,
  jobRequest,
  outcomeError,
  PROJECT_ROOT,
  runRecorded,
} from "./isolated_helpers.ts";

const BASIC = "basic_jobs.ts";

Deno.test("a no-op job succeeds", async () => {
  const { outcome } = await runRecorded(jobRequest(BASIC, "NoopJob"));
  assert.deepEqual(outcome, { kind: "success" });
});

Deno.test("the job sees its attempt context and its stdout reaches onOutput", async () => {
  const { outcome, stdout } = await runRecorded(
    jobRequest(BASIC, "ContextEchoJob", { attempt: 3 }),
  );
  assert.equal(outcome.kind, "success");
  assert.deepEqual(stdout.map((line) => JSON.parse(line)), [{
    attempt: 3,
    jobId: "17",
    uuid: "9d3c0b9e-7d1e-4f3a-9d55-0a1b2c3d4e5f",
    queue: "default",
    connection: "database",
    attempts: 3,
  }]);
});

Deno.test("a throwing handle() is an error outcome that keeps name, message and stack", async () => {
  const { outcome } = await runRecorded(jobRequest(BASIC, "ThrowsJob"));
  assert.equal(outcome.kind, "error");
  const error = outcomeError(outcome);
  assert.equal(error.name, "RangeError");
  assert.equal(error.message, "the job broke on purpose");
  assert.match(error.stack ?? "", /basic_jobs\.ts:\d+/);
});

Deno.test("an UnrecoverableError fails the job at once", async () => {
  const { outcome } = await runRecorded(jobRequest(BASIC, "UnrecoverableJob"));
  assert.equal(outcome.kind, "failed");
  assert.ok(outcomeError(outcome) instanceof UnrecoverableError);
});

Deno.test("release() and fail() round-trip through the child", async () => {
  const released = await runRecorded(jobRequest(BASIC, "ReleaseJob"));
  assert.deepEqual(released.outcome, { kind: "released", delaySeconds: 30 });
  const failed = await runRecorded(jobRequest(BASIC, "FailJob"));
  assert.equal(failed.outcome.kind, "failed");
  assert.equal(outcomeError(failed.outcome).message, "gave up on purpose");
});

Deno.test("failed() mode runs the hook in the child with the rebuilt error", async () => {
  const error = serializeError(new TimeoutExceededError("NoopJob has timed out after 1 s"));
  const { outcome, stdout } = await runRecorded(
    jobRequest(BASIC, "FailedHookJob", { mode: "failed", error }),
  );
  assert.equal(outcome.kind, "success");
  assert.deepEqual(stdout, ["failed() got TimeoutExceededError: NoopJob has timed out after 1 s"]);
});

Deno.test("a payload command that cannot be decoded fails the job (PayloadError)", async () => {
  const { outcome } = await runRecorded(jobRequest(BASIC, "NoopJob", { command: "not php" }));
  assert.equal(outcome.kind, "failed");
  assert.ok(outcomeError(outcome) instanceof PayloadError);
});

Deno.test("Deno.exit(3) in the job is a crash that names code 3", async () => {
  const { outcome } = await runRecorded(jobRequest(BASIC, "ExitCodeJob"));
  assert.equal(outcome.kind, "crashed");
  assert.ok(outcomeError(outcome) instanceof ChildCrashedError);
  assert.match(outcomeError(outcome).message, /ExitCodeJob's child exited with code 3 without/);
});

Deno.test("stdout shaped like frames cannot forge a success", async () => {
  const { outcome, stdout } = await runRecorded(jobRequest(BASIC, "FakeFramesJob"));
  assert.equal(outcome.kind, "error");
  assert.equal(outcomeError(outcome).message, "the real outcome");
  assert.equal(stdout.length, 3, "the fake frames are passed on as the job's output");

  const exited = await runRecorded(jobRequest(BASIC, "FakeFrameThenExitJob"));
  assert.equal(exited.outcome.kind, "crashed");
  assert.match(
    outcomeError(exited.outcome).message,
    /exited with code 0 without reporting a result/,
  );
});

Deno.test("an unterminated last output line does not hide the result frame", async () => {
  const { outcome, stdout } = await runRecorded(jobRequest(BASIC, "UnterminatedOutputJob"));
  assert.deepEqual(outcome, { kind: "success" });
  assert.deepEqual(stdout, ["progress 99%"]);
});

Deno.test("an error thrown from a timer in the job is an error outcome", async () => {
  const { outcome } = await runRecorded(jobRequest(BASIC, "UncaughtTimerErrorJob"));
  assert.equal(outcome.kind, "error");
  assert.match(outcomeError(outcome).message, /thrown from a timer/);
});

Deno.test("a module that throws at import is a crash naming the module and the error", async () => {
  const request = jobRequest("throws_at_import.ts", "NeverLoadedJob");
  const { outcome } = await runRecorded(request);
  assert.equal(outcome.kind, "crashed");
  const message = outcomeError(outcome).message;
  assert.ok(message.includes(request.moduleUrl), message);
  assert.match(message, /boom while importing/);
});

Deno.test("an export that is not a job class is a crash naming the export", async () => {
  const { outcome } = await runRecorded(jobRequest(BASIC, "notAJob"));
  assert.equal(outcome.kind, "crashed");
  assert.match(
    outcomeError(outcome).message,
    /export "notAJob" is a number, not a KQueueJob class/,
  );
});

Deno.test("a missing module is a crash naming it", async () => {
  const request = jobRequest("no_such_module.ts", "NoopJob");
  const { outcome } = await runRecorded(request);
  assert.equal(outcome.kind, "crashed");
  const message = outcomeError(outcome).message;
  assert.ok(message.includes(request.moduleUrl), message);
  assert.match(message, /Module not found/);
});

Deno.test("a spinning job is killed at its timeout (SIGTERM, grace, SIGKILL)", async () => {
  const timeoutMs = 600;
  const killGraceMs = 300;
  const { outcome, elapsedMs, pid, stdout } = await runRecorded(
    jobRequest(BASIC, "SpinJob", { timeoutMs }),
    { killGraceMs },
  );
  assert.deepEqual(stdout, ["spinning"]);
  assert.equal(outcome.kind, "timeout");
  assert.ok(outcomeError(outcome) instanceof TimeoutExceededError);
  assert.match(outcomeError(outcome).message, /SpinJob has timed out after 0\.6 s/);
  assert.ok(elapsedMs >= timeoutMs, `returned after ${elapsedMs} ms, before the deadline`);
  assert.ok(elapsedMs < timeoutMs + killGraceMs + 1_000, `returned after ${elapsedMs} ms`);
  assert.equal(isAlive(pid!), false);
});

Deno.test("a job that honours its signal stops at the timeout without waiting for the grace", async () => {
  const timeoutMs = 400;
  const { outcome, elapsedMs, stdout } = await runRecorded(
    jobRequest(BASIC, "CooperativeSleepJob", { timeoutMs }),
    { killGraceMs: 5_000 },
  );
  assert.equal(outcome.kind, "timeout");
  assert.deepEqual(stdout, ["sleeping", "aborted: AbortError"]);
  assert.ok(elapsedMs >= timeoutMs && elapsedMs < timeoutMs + 1_000, `took ${elapsedMs} ms`);
});

Deno.test("the child enforces its own deadline when the daemon's event loop is blocked", async () => {
  let pid = 0;
  let diedOnItsOwn = false;
  const { outcome } = await runRecorded(jobRequest(BASIC, "SpinJob", { timeoutMs: 300 }), {
    killGraceMs: 200,
    onSpawn: (childPid) => pid = childPid,
    onOutput(_stream, line) {
      if (line !== "spinning") return;
      // Hold the daemon's loop: its timer cannot fire, so only the child's own deadline can act.
      const started = performance.now();
      while (isAlive(pid) && performance.now() - started < 5_000) {
        // busy on purpose
      }
      diedOnItsOwn = !isAlive(pid);
    },
  });
  assert.ok(diedOnItsOwn, "the child exited while the daemon could not act");
  assert.equal(outcome.kind, "timeout");
});

Deno.test("aborting the signal kills the child now: crashed with a shutdown message", async () => {
  const controller = new AbortController();
  let abortedAt = 0;
  const { outcome, pid } = await runRecorded(jobRequest(BASIC, "SpinJob", { timeoutMs: 0 }), {
    signal: controller.signal,
    onOutput(_stream, line) {
      if (line !== "spinning") return;
      abortedAt = performance.now();
      controller.abort();
    },
  });
  const killMs = performance.now() - abortedAt;
  assert.equal(outcome.kind, "crashed");
  assert.match(outcomeError(outcome).message, /SpinJob was killed by a forced shutdown/);
  assert.ok(abortedAt > 0, "the job was running when the signal aborted");
  assert.ok(killMs < 1_000, `took ${killMs} ms after the abort`);
  assert.equal(isAlive(pid!), false);
});

Deno.test("an already-aborted signal starts nothing", async () => {
  const { outcome, pid } = await runRecorded(jobRequest(BASIC, "NoopJob"), {
    signal: AbortSignal.abort(),
  });
  assert.equal(outcome.kind, "crashed");
  assert.match(outcomeError(outcome).message, /shutdown/);
  assert.equal(pid, undefined);
});

Deno.test("bad options and requests throw before anything is spawned", async () => {
  const request = jobRequest(BASIC, "NoopJob");
  await assert.rejects(
    runIsolated(request, { projectRoot: "relative/root" }),
    /'projectRoot' must be an absolute path/,
  );
  await assert.rejects(
    runIsolated({ ...request, memoryLimitMb: 64 }, { projectRoot: PROJECT_ROOT }),
    /'memoryLimitMb' must be an integer of at least 96/,
  );
  await assert.rejects(
    runIsolated({ ...request, moduleUrl: "https://example.com/job.ts" }, {
      projectRoot: PROJECT_ROOT,
    }),
    /'moduleUrl' must be a file:\/\/ URL/,
  );
  await assert.rejects(
    runIsolated({ ...request, permissions: { read: ["../outside"] } }, {
      projectRoot: PROJECT_ROOT,
    }),
    TypeError,
  );
});

Deno.test("a project root that does not exist is a crash, not a throw", async () => {
  const outcome = await runIsolated(jobRequest(BASIC, "NoopJob"), {
    projectRoot: "/nonexistent/kqueue-project",
  });
  assert.equal(outcome.kind, "crashed");
  assert.match(outcomeError(outcome).message, /Could not resolve the modules of NoopJob/);
});
