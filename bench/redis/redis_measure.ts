/**
 * The Redis measurements: KQueue, BullMQ and Laravel's worker on the bench's
 * own redis-server, repetitions interleaved (KQueue, its peers, KQueue, …)
 * as for SQLite.
 */
import type { DrainResult } from "../runner.ts";
import { interleave, type Measured, measured, REPETITIONS } from "../measure.ts";
import {
  type BullmqSetup,
  type LatencyResult,
  type RedisCpu,
  type RedisDrainResult,
  type RedisLaravelResult,
  runBullmqDrain,
  runBullmqLatency,
  runKQueueRedisDrain,
  runKQueueRedisLatency,
  runLaravelRedisPeer,
  runRedisWakeFloor,
} from "./redis_runner.ts";
import type { BenchRedis } from "./redis_server.ts";

export const REDIS_NOOP_JOBS = 20_000;
export const REDIS_LARAVEL_JOBS = 5_000;
export const REDIS_CONCURRENCIES = [100, 10] as const;
/** Counted jobs per latency run (3 runs), after the warm-up ones. */
export const LATENCY_JOBS = 200;
export const LATENCY_WARMUP = 10;
export const LATENCY_RATE = 20;
export const LATENCY_CONCURRENCY = 100;

export interface RedisResults {
  readonly kqueue: ReadonlyMap<number, Measured<DrainResult & RedisCpu>>;
  readonly bullmq: ReadonlyMap<number, Measured<RedisDrainResult>>;
  readonly laravel: Measured<RedisLaravelResult>;
  readonly kqueueLatency: Measured<LatencyResult>;
  readonly bullmqLatency: Measured<LatencyResult>;
  /** No queue: the machine's floor under both (see redis_wake_floor.ts). */
  readonly wakeFloor: Measured<LatencyResult>;
}

export interface RedisPeers {
  readonly bullmq: BullmqSetup;
  /** Why Laravel's Redis worker can't run, or undefined. */
  readonly laravelSkipped: string | undefined;
}

function perConcurrency<T>(skipped?: string): Map<number, Measured<T>> {
  return new Map(REDIS_CONCURRENCIES.map((c) => [c, measured<T>(skipped)]));
}

export async function runRedisBench(
  redis: BenchRedis | undefined,
  peers: RedisPeers,
): Promise<RedisResults> {
  if (redis === undefined) return skippedRedisResults("skipped: redis-server not available");
  const bullmqSkipped = "skipped" in peers.bullmq ? peers.bullmq.skipped : undefined;
  const results: RedisResults = {
    kqueue: perConcurrency(),
    bullmq: perConcurrency(bullmqSkipped),
    laravel: measured(peers.laravelSkipped),
    kqueueLatency: measured(),
    bullmqLatency: measured(bullmqSkipped),
    wakeFloor: measured(),
  };

  console.error(
    `redis no-op (${REDIS_NOOP_JOBS} jobs; Laravel ${REDIS_LARAVEL_JOBS}), redis-server :${redis.port}`,
  );
  await interleave(REPETITIONS, [
    ...REDIS_CONCURRENCIES.flatMap((c) => [
      {
        label: `KQueue c=${c}`,
        into: results.kqueue.get(c)!,
        run: () => runKQueueRedisDrain(redis, REDIS_NOOP_JOBS, c),
      },
      {
        label: `BullMQ c=${c}`,
        into: results.bullmq.get(c)!,
        run: () => runBullmqDrain(redis, peers.bullmq, REDIS_NOOP_JOBS, c),
      },
    ]),
    {
      label: "Laravel",
      into: results.laravel,
      run: () => runLaravelRedisPeer(redis, REDIS_LARAVEL_JOBS),
    },
  ]);

  console.error(
    `redis latency (${LATENCY_JOBS} jobs + ${LATENCY_WARMUP} warm-up at ${LATENCY_RATE} jobs/s)`,
  );
  await interleave(REPETITIONS, [
    {
      label: "KQueue",
      into: results.kqueueLatency,
      run: () =>
        runKQueueRedisLatency(
          redis,
          LATENCY_JOBS,
          LATENCY_WARMUP,
          LATENCY_RATE,
          LATENCY_CONCURRENCY,
        ),
    },
    {
      label: "BullMQ",
      into: results.bullmqLatency,
      run: () =>
        runBullmqLatency(
          redis,
          peers.bullmq,
          LATENCY_JOBS,
          LATENCY_WARMUP,
          LATENCY_RATE,
          LATENCY_CONCURRENCY,
        ),
    },
    {
      label: "bare RPUSH → BLPOP",
      into: results.wakeFloor,
      run: () => runRedisWakeFloor(redis, LATENCY_JOBS, LATENCY_WARMUP, LATENCY_RATE),
    },
  ]);
  return results;
}

/** Every Redis figure marked as not run, with the reason (no redis-server). */
export function skippedRedisResults(reason: string): RedisResults {
  return {
    kqueue: perConcurrency(reason),
    bullmq: perConcurrency(reason),
    laravel: measured(reason),
    kqueueLatency: measured(reason),
    bullmqLatency: measured(reason),
    wakeFloor: measured(reason),
  };
}
