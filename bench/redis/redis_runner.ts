/**
 * One Redis measurement per call, each in a fresh process on the bench's
 * own redis-server, flushed before every run (each run also has a key prefix
 * of its own). Every run also reports the server's CPU time per job (push,
 * reserve and ack together, from `INFO cpu` before and after).
 */
import { fileURLToPath } from "node:url";
import {
  commandOutput,
  drainArgs,
  type DrainResult,
  type DrainSettings,
  LARAVEL_AUTOLOAD,
  type LaravelResult,
  runDenoScenario,
  runJsonProcess,
} from "../runner.ts";
import type { BenchRedis } from "./redis_server.ts";

const PEERS_DIR = fileURLToPath(new URL("../peers/", import.meta.url));
/** The BullMQ perf-facts.md measured, and the ioredis KQueue itself uses. */
export const BULLMQ_VERSION = "6.7.6";
const IOREDIS_VERSION = "5.11.1";

/** Server CPU per job, added to every Redis result. */
export interface RedisCpu {
  readonly redisCpuUsPerJob: number;
}

export type RedisDrainResult = Pick<DrainResult, "jobs" | "seconds" | "lastDoneSeconds"> & RedisCpu;

export interface LatencyResult {
  readonly jobs: number;
  readonly warmup: number;
  /** Start − push of each counted job, ms, in the order run. */
  readonly samplesMs: readonly number[];
}

export type RedisLaravelResult = LaravelResult & RedisCpu;

/** Where BullMQ is installed, or why it is not available. */
export type BullmqSetup = { readonly dir: string; readonly version: string } | {
  readonly skipped: string;
};

let runs = 0;
const nextPrefix = (who: string) => `bench${++runs}_${who}_`;

async function withCpu<T extends { jobs: number }>(
  redis: BenchRedis,
  run: () => Promise<T>,
): Promise<T & RedisCpu> {
  await redis.flush();
  const before = await redis.cpuSeconds();
  const result = await run();
  const after = await redis.cpuSeconds();
  return { ...result, redisCpuUsPerJob: ((after - before) * 1e6) / result.jobs };
}

function requireAll<T extends { jobs: number }>(who: string, result: T, jobs: number): T {
  if (result.jobs !== jobs) throw new Error(`${who} processed ${result.jobs} of ${jobs} jobs`);
  return result;
}

export function runKQueueRedisDrain(
  redis: BenchRedis,
  jobs: number,
  concurrency: number,
  settings: Partial<DrainSettings> = {},
): Promise<DrainResult & RedisCpu> {
  const args = drainArgs({ job: "BenchNoop", ...settings, jobs, concurrency });
  return withCpu(redis, async () =>
    requireAll(
      "KQueue",
      await runDenoScenario<DrainResult>(
        "kqueue_drain.ts",
        ["--connection", "redis", ...args],
        redis.env(nextPrefix("kqueue")),
      ),
      jobs,
    ));
}

export function runKQueueRedisLatency(
  redis: BenchRedis,
  jobs: number,
  warmup: number,
  rate: number,
  concurrency: number,
): Promise<LatencyResult> {
  return withCpu(redis, () =>
    runDenoScenario<LatencyResult>("redis_latency.ts", [
      ...["--jobs", String(jobs), "--warmup", String(warmup)],
      ...["--rate", String(rate), "--concurrency", String(concurrency)],
    ], redis.env(nextPrefix("kqueue"))));
}

/** No queue: a bare RPUSH waking a BLPOP in another idle process (redis_wake_floor.ts). */
export function runRedisWakeFloor(
  redis: BenchRedis,
  jobs: number,
  warmup: number,
  rate: number,
): Promise<LatencyResult> {
  return runDenoScenario<LatencyResult>("redis_wake_floor.ts", [
    ...["--jobs", String(jobs), "--warmup", String(warmup), "--rate", String(rate)],
  ], redis.env(nextPrefix("floor")));
}

function bullmqEnv(redis: BenchRedis, setup: BullmqSetup): Record<string, string> {
  if ("skipped" in setup) throw new Error(setup.skipped);
  return {
    KQ_BULLMQ_DIR: setup.dir,
    REDIS_PORT: String(redis.port),
    BULLMQ_PREFIX: nextPrefix("bullmq").slice(0, -1),
  };
}

/** `sandboxed`: the processor is a file BullMQ runs in its own child processes (or worker threads). */
export function runBullmqDrain(
  redis: BenchRedis,
  setup: BullmqSetup,
  jobs: number,
  concurrency: number,
  sandboxed?: "processes" | "threads",
): Promise<RedisDrainResult> {
  const mode = sandboxed ? ["sandboxed", ...(sandboxed === "threads" ? ["--threads"] : [])] : [
    "drain",
  ];
  return withCpu(redis, async () =>
    requireAll(
      "BullMQ",
      await runJsonProcess<RedisDrainResult>("node", [
        `${PEERS_DIR}bullmq_peer.mjs`,
        ...["worker", ...mode, "--jobs", String(jobs), "--concurrency", String(concurrency)],
      ], bullmqEnv(redis, setup)),
      jobs,
    ));
}

export function runBullmqLatency(
  redis: BenchRedis,
  setup: BullmqSetup,
  jobs: number,
  warmup: number,
  rate: number,
  concurrency: number,
): Promise<LatencyResult> {
  return withCpu(redis, () =>
    runJsonProcess<LatencyResult>("node", [
      `${PEERS_DIR}bullmq_peer.mjs`,
      ...["worker", "latency", "--jobs", String(jobs), "--warmup", String(warmup)],
      ...["--rate", String(rate), "--concurrency", String(concurrency)],
    ], bullmqEnv(redis, setup)));
}

/** Laravel's own worker (phpredis), 1 process. */
export function runLaravelRedisPeer(redis: BenchRedis, jobs: number): Promise<RedisLaravelResult> {
  return withCpu(redis, async () =>
    requireAll(
      "the Laravel peer",
      await runJsonProcess<LaravelResult>("php", [
        `${PEERS_DIR}laravel_redis_worker.php`,
        ...["127.0.0.1", String(redis.port), nextPrefix("laravel"), String(jobs), "noop"],
      ]),
      jobs,
    ));
}

/** Why Laravel's Redis worker can't run here, or undefined. */
export async function laravelRedisUnavailable(): Promise<string | undefined> {
  const loaded = await commandOutput("php", ["-r", "echo extension_loaded('redis') ? 1 : 0;"]);
  if (loaded === undefined) return "peer skipped: php not installed";
  if (loaded !== "1") return "peer skipped: phpredis not installed (apt-get install php-redis)";
  try {
    await Deno.stat(LARAVEL_AUTOLOAD);
  } catch {
    return `peer skipped: Laravel not installed (${LARAVEL_AUTOLOAD})`;
  }
  return undefined;
}

/**
 * BullMQ in a folder of its own under the temp dir, installed with npm on
 * first use (bullmq 6 takes ioredis as an optional peer: installed alongside).
 */
export async function ensureBullmq(): Promise<BullmqSetup> {
  const node = await commandOutput("node", ["--version"]);
  if (node === undefined) return { skipped: "peer skipped: node not installed" };
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const dir = `${tmp}/kqueue-bench-peers/bullmq-${BULLMQ_VERSION}`;
  const installed = async () => {
    try {
      const read = async (name: string) =>
        JSON.parse(await Deno.readTextFile(`${dir}/node_modules/${name}/package.json`)).version;
      return await read("bullmq") === BULLMQ_VERSION && await read("ioredis") === IOREDIS_VERSION;
    } catch {
      return false;
    }
  };
  if (await installed()) return { dir, version: BULLMQ_VERSION };
  await Deno.mkdir(dir, { recursive: true });
  console.error(`installing bullmq@${BULLMQ_VERSION} into ${dir} (npm)…`);
  const output = await new Deno.Command("npm", {
    args: [
      ...["install", "--no-save", "--no-audit", "--no-fund", "--prefix", dir],
      ...[`bullmq@${BULLMQ_VERSION}`, `ioredis@${IOREDIS_VERSION}`],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output().catch((error: Error) => ({ success: false, stderr: error.message }));
  if (!output.success || !await installed()) {
    const why = typeof output.stderr === "string"
      ? output.stderr
      : new TextDecoder().decode(output.stderr).trim().split("\n").pop();
    return { skipped: `peer skipped: npm install bullmq@${BULLMQ_VERSION} failed (${why})` };
  }
  return { dir, version: BULLMQ_VERSION };
}
