/**
 * Cold spawn latency of one isolated no-op job: `runIsolated` called
 * sequentially, one fresh child each, after one untimed warm-up call (which
 * fills the module-graph cache: `deno info` runs once per job module).
 *
 * Usage: isolated_spawn.ts --calls N
 * Prints {"calls":N,"medianMs":…,"minMs":…,"maxMs":…}.
 */
import { parseArgs } from "node:util";
import { runIsolated } from "../../src/executor/subprocess_executor.ts";
import type { IsolatedRunRequest } from "../../src/executor/isolated_request.ts";
import { BENCH_JOBS_URL, REPO_ROOT, report } from "./scenario_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { calls: { type: "string", default: "20" } },
});

const request: IsolatedRunRequest = {
  moduleUrl: BENCH_JOBS_URL,
  exportName: "BenchIsolatedNoop",
  jobName: "BenchIsolatedNoop",
  attempt: 1,
  jobId: "1",
  uuid: crypto.randomUUID(),
  queue: "default",
  connection: "database",
  timeoutMs: 60_000,
  permissions: {},
  mode: "handle",
};

async function timedCall(): Promise<number> {
  const started = performance.now();
  const outcome = await runIsolated(request, { projectRoot: REPO_ROOT });
  const ms = performance.now() - started;
  if (outcome.kind !== "success") {
    const detail = "error" in outcome ? `: ${outcome.error.message}` : "";
    throw new Error(`the isolated no-op job did not succeed (${outcome.kind}${detail})`);
  }
  return ms;
}

await report(async () => {
  const calls = Number(values.calls);
  await timedCall(); // warm-up: module graph cached, Deno's own caches hot
  const times: number[] = [];
  for (let i = 0; i < calls; i++) times.push(await timedCall());
  times.sort((a, b) => a - b);
  const middle = Math.floor(times.length / 2);
  const medianMs = times.length % 2 === 1
    ? times[middle]!
    : (times[middle - 1]! + times[middle]!) / 2;
  return { calls, medianMs, minMs: times[0]!, maxMs: times[times.length - 1]! };
});
