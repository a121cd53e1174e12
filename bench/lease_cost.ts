/**
 * `deno task bench:leases`: what lease extension costs, by hand (never in
 * CI). For SQLite and for Redis (on a redis-server of its own), each figure
 * the median (min–max) of fresh processes, leases on (15 s) and off
 * interleaved: the supervisor Worker's start-up, the idle daemon's RSS, and
 * a 20,000 no-op drain at concurrency 100 (the per-job cost of telling the
 * Worker which reservations are in flight).
 */
import { loadAverage, machineFacts } from "./machine.ts";
import { type DrainResult, runDenoScenario } from "./runner.ts";
import { BenchRedis } from "./redis/redis_server.ts";
import { formatSummary, summarize } from "./stats.ts";

const RUNS = 5;
const DRAIN_RUNS = 3;
const DRAIN_JOBS = 20_000;

interface IdleResult {
  readonly runToStartedMs: number;
  readonly supervisorStartMs: number;
  readonly rssMb: number;
}

const stat = (values: number[], unit: string) => formatSummary(summarize(values), unit);

async function measure(connection: "database" | "redis", env: () => Record<string, string>) {
  const idle = { on: [] as IdleResult[], off: [] as IdleResult[] };
  for (let run = 0; run < RUNS; run++) {
    for (const lease of ["15", "0"] as const) {
      const result = await runDenoScenario<IdleResult>(
        "lease_idle.ts",
        ["--lease", lease, "--connection", connection],
        env(),
      );
      idle[lease === "0" ? "off" : "on"].push(result);
    }
  }
  const drain = { on: [] as number[], off: [] as number[] };
  for (let run = 0; run < DRAIN_RUNS; run++) {
    for (const lease of ["15", "0"] as const) {
      const result = await runDenoScenario<DrainResult>("kqueue_drain.ts", [
        ...["--job", "BenchNoop", "--jobs", String(DRAIN_JOBS), "--concurrency", "100"],
        ...["--connection", connection, "--lease", lease],
      ], env());
      drain[lease === "0" ? "off" : "on"].push(result.jobs / result.seconds);
    }
  }
  const rssDelta = idle.on.map((on, i) => on.rssMb - idle.off[i]!.rssMb);
  const startDelta = idle.on.map((on, i) => on.runToStartedMs - idle.off[i]!.runToStartedMs);
  return [
    `${connection}: supervisor start-up (as the daemon timed it) ${
      stat(idle.on.map((r) => r.supervisorStartMs), "ms")
    }; run() → worker:started ${stat(idle.on.map((r) => r.runToStartedMs), "ms")} on, ${
      stat(idle.off.map((r) => r.runToStartedMs), "ms")
    } off (+${stat(startDelta, "ms")})`,
    `${connection}: idle daemon RSS ${stat(idle.on.map((r) => r.rssMb), "MB")} on, ${
      stat(idle.off.map((r) => r.rssMb), "MB")
    } off (+${stat(rssDelta, "MB")} for the supervisor)`,
    `${connection}: ${DRAIN_JOBS.toLocaleString("en-US")} no-op jobs, concurrency 100: ${
      stat(drain.on, "jobs/s")
    } on, ${stat(drain.off, "jobs/s")} off`,
  ];
}

console.log((await machineFacts()).lines.join("\n"));
let nextPrefix = 0;
const lines = await measure("database", () => ({}));
const redis = await BenchRedis.start().catch(() => undefined);
if (redis) {
  try {
    lines.push(...await measure("redis", () => redis.env(`leasebench${nextPrefix++}_`)));
  } finally {
    await redis.stop();
  }
} else lines.push("redis: skipped (redis-server not available)");
console.log(lines.join("\n"));
console.log(`load average at end: ${await loadAverage()}`);
