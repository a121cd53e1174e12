/**
 * The isolated-job measurements: cold spawn latency, the default pool (a
 * fresh, pre-started child per job), the pool with reuse (SQLite, with the
 * daemon's RSS over 10,000 isolated jobs), and on the bench's Redis KQueue's
 * pool with reuse against BullMQ's sandboxed processors, interleaved.
 */
import { interleave, type Measured, measured, REPETITIONS } from "../measure.ts";
import {
  type DrainResult,
  type PoolProfileResult,
  runIsolatedSpawn,
  runKQueueDrain,
  runPoolProfile,
  type SpawnResult,
} from "../runner.ts";
import {
  type BullmqSetup,
  type RedisCpu,
  type RedisDrainResult,
  runBullmqDrain,
  runKQueueRedisDrain,
} from "../redis/redis_runner.ts";
import type { BenchRedis } from "../redis/redis_server.ts";

export const SPAWN_CALLS = 20;
/** Jobs per run with the default pool (maxJobsPerChild 1): one process start each. */
export const FRESH_JOBS = 200;
export const FRESH_CONCURRENCIES = [2, 4] as const;
/** The pool with reuse: children, jobs per child, jobs per run. */
export const POOLED_CHILDREN = 4;
export const POOLED_MAX_JOBS_PER_CHILD = 1_000;
export const POOLED_JOBS = 10_000;
export const REDIS_POOLED_JOBS = 5_000;
/** Jobs in flight in the daemon: enough that the 4 children never wait for a reservation. */
const DAEMON_CONCURRENCY = 100;

export interface IsolatedResults {
  readonly spawn: Measured<SpawnResult>;
  readonly fresh: ReadonlyMap<number, Measured<DrainResult>>;
  readonly pooled: Measured<DrainResult>;
  readonly pooledRedis: Measured<DrainResult & RedisCpu>;
  readonly bullmqSandboxed: Measured<RedisDrainResult>;
  readonly bullmqThreads: Measured<RedisDrainResult>;
  /** Where a pooled job's time goes: KQueue's pool without the queue, and bare pipes + Worker. */
  readonly profilePool: Measured<PoolProfileResult>;
  readonly profileBare: Measured<PoolProfileResult>;
}

export async function runIsolatedBench(
  redis: BenchRedis | undefined,
  bullmq: BullmqSetup,
): Promise<IsolatedResults> {
  const redisSkipped = redis === undefined ? "skipped: redis-server not available" : undefined;
  const bullmqSkipped = redisSkipped ?? ("skipped" in bullmq ? bullmq.skipped : undefined);
  const results: IsolatedResults = {
    spawn: measured(),
    fresh: new Map(FRESH_CONCURRENCIES.map((c) => [c, measured<DrainResult>()])),
    pooled: measured(),
    pooledRedis: measured(redisSkipped),
    bullmqSandboxed: measured(bullmqSkipped),
    bullmqThreads: measured(bullmqSkipped),
    profilePool: measured(),
    profileBare: measured(),
  };
  const pooled = {
    job: "BenchIsolatedNoop",
    concurrency: DAEMON_CONCURRENCY,
    isolatedConcurrency: POOLED_CHILDREN,
    maxJobsPerChild: POOLED_MAX_JOBS_PER_CHILD,
  } as const;

  console.error(
    `isolated (${SPAWN_CALLS} sequential spawns; ${FRESH_JOBS} jobs, a fresh child each; ` +
      `${POOLED_JOBS} jobs on ${POOLED_CHILDREN} reused children)`,
  );
  await interleave(REPETITIONS, [
    { label: "spawn latency", into: results.spawn, run: () => runIsolatedSpawn(SPAWN_CALLS) },
    ...FRESH_CONCURRENCIES.map((isolatedConcurrency) => ({
      label: `fresh child per job, isolatedConcurrency=${isolatedConcurrency}`,
      into: results.fresh.get(isolatedConcurrency)!,
      run: () =>
        runKQueueDrain({
          job: "BenchIsolatedNoop",
          jobs: FRESH_JOBS,
          concurrency: DAEMON_CONCURRENCY,
          isolatedConcurrency,
        }),
    })),
    {
      label: `pooled, ${POOLED_CHILDREN} children, maxJobsPerChild=${POOLED_MAX_JOBS_PER_CHILD}`,
      into: results.pooled,
      run: () => runKQueueDrain({ ...pooled, jobs: POOLED_JOBS, rssSamples: 5 }),
    },
  ]);

  console.error(`pooled job profile (${POOLED_JOBS} jobs, no queue: KQueue's pool, bare pipes)`);
  await interleave(REPETITIONS, [
    {
      label: "KQueue pool, no queue",
      into: results.profilePool,
      run: () => runPoolProfile("pool", POOLED_JOBS, POOLED_CHILDREN),
    },
    {
      label: "bare pipes + Worker",
      into: results.profileBare,
      run: () => runPoolProfile("bare", POOLED_JOBS, POOLED_CHILDREN),
    },
  ]);

  if (redis === undefined) return results;
  console.error(`isolated on redis (${REDIS_POOLED_JOBS} jobs; BullMQ sandboxed, c=4)`);
  await interleave(REPETITIONS, [
    {
      label: `KQueue pooled, ${POOLED_CHILDREN} children`,
      into: results.pooledRedis,
      run: () => runKQueueRedisDrain(redis, REDIS_POOLED_JOBS, DAEMON_CONCURRENCY, pooled),
    },
    {
      label: "BullMQ sandboxed, child processes, c=4",
      into: results.bullmqSandboxed,
      run: () => runBullmqDrain(redis, bullmq, REDIS_POOLED_JOBS, POOLED_CHILDREN, "processes"),
    },
    {
      label: "BullMQ sandboxed, worker threads, c=4",
      into: results.bullmqThreads,
      run: () => runBullmqDrain(redis, bullmq, REDIS_POOLED_JOBS, POOLED_CHILDREN, "threads"),
    },
  ]);
  return results;
}
