/** Memory limits and the stdin-EOF watchdog, with real child processes. */
import assert from "node:assert/strict";
import { MemoryLimitExceededError } from "../src/errors.ts";
import { readLines } from "../src/executor/line_reader.ts";
import {
  fixturePath,
  isAlive,
  jobRequest,
  outcomeError,
  PROJECT_ROOT,
  runRecorded,
  waitUntilGone,
} from "./isolated_helpers.ts";

const MEMORY = "memory_jobs.ts";

Deno.test("memory: off-heap ArrayBuffers past the limit are caught by the RSS poll and SIGKILLed", async () => {
  const limitMb = 160;
  const { outcome, stdout } = await runRecorded(
    jobRequest(MEMORY, "ArrayBufferHogJob", { memoryLimitMb: limitMb }),
    { rssPollMs: 25 },
  );
  assert.deepEqual(stdout, [], "the job must not survive its 4 GB of buffers");
  assert.equal(outcome.kind, "memory");
  const error = outcomeError(outcome);
  assert.ok(error instanceof MemoryLimitExceededError);
  const match = /ArrayBufferHogJob used (\d+) MB of memory \(RSS\), over its memoryLimit of 160 MB/
    .exec(error.message);
  assert.ok(match, error.message);
  const peakMb = Number(match[1]);
  console.log(`RSS kill: peak ${peakMb} MB against a ${limitMb} MB limit`);
  assert.ok(peakMb > limitMb && peakMb < limitMb + 400, `peak ${peakMb} MB`);
});

Deno.test("memory: the V8 heap limit (exit 133, SIGTRAP) is a memory outcome too", async () => {
  // A poll slower than the run leaves the heap flag as the only limit.
  const { outcome, stderr } = await runRecorded(
    jobRequest(MEMORY, "HeapHogJob", { memoryLimitMb: 128, timeoutMs: 30_000 }),
    { rssPollMs: 60_000 },
  );
  assert.equal(outcome.kind, "memory", `got ${outcome.kind}: ${stderr.slice(-3).join(" | ")}`);
  assert.match(
    outcomeError(outcome).message,
    /HeapHogJob ran out of memory: its JavaScript heap reached the heap limit set by its memoryLimit of 128 MB/,
  );
  assert.ok(stderr.some((line) => line.includes("Fatal JavaScript out of memory")));
});

Deno.test("watchdog: the child dies shortly after its daemon is SIGKILLed, even while the job spins", async () => {
  const parent = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixturePath("run_isolated_parent.ts")],
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let childPid = 0;
  const lines = readLines(parent.stdout);
  try {
    for await (const line of lines) {
      const spawned = /^child (\d+)$/.exec(line);
      if (spawned) childPid = Number(spawned[1]);
      if (line === "job spinning") break;
    }
    assert.ok(childPid > 0, "the parent reported its child");
    assert.ok(isAlive(childPid), "the child runs while its parent lives");
  } finally {
    parent.kill("SIGKILL");
    await parent.status;
  }
  const goneAfterMs = await waitUntilGone(childPid, 3_000);
  console.log(`child gone ${goneAfterMs.toFixed(1)} ms after its parent was SIGKILLed`);
  assert.ok(goneAfterMs < 1_000, `took ${goneAfterMs} ms`);
});
