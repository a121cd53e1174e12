/**
 * The measurements, each repetition in a fresh process. Within a group the
 * repetitions are interleaved (KQueue, its peer, KQueue, …) so that a change
 * in the machine's load hits both sides alike.
 */
import { type DrainResult, type LaravelResult, runKQueueDrain, runLaravelPeer } from "./runner.ts";

export const REPETITIONS = 3;
export const NOOP_JOBS = 20_000;
export const NOOP_LARAVEL_JOBS = 3_000;
export const WAIT_JOBS = 2_000;
export const WAIT_CONCURRENCY = 500;
export const WAIT_LARAVEL_JOBS = 100;
export const LONG_RSS_JOBS = 100_000;

/** The runs of one measurement that finished, and the error that stopped it, if any. */
export interface Measured<T> {
  readonly results: T[];
  error?: string;
  /** Why it was not run at all (a missing peer). */
  skipped?: string;
}

export interface BenchResults {
  readonly noop100: Measured<DrainResult>;
  readonly noop10: Measured<DrainResult>;
  readonly laravelNoop: Measured<LaravelResult>;
  readonly wait50: Measured<DrainResult>;
  readonly laravelWait50: Measured<LaravelResult>;
  readonly longRss: Measured<DrainResult>;
}

export type Task = {
  readonly label: string;
  readonly into: Measured<unknown>;
  run(): Promise<unknown>;
};

/** Runs each task `times` times, round-robin; a task that fails is not retried. */
export async function interleave(times: number, tasks: readonly Task[]): Promise<void> {
  for (let rep = 1; rep <= times; rep++) {
    for (const task of tasks) {
      if (task.into.error !== undefined || task.into.skipped !== undefined) continue;
      const started = performance.now();
      try {
        task.into.results.push(await task.run());
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        console.error(`  ${task.label}: run ${rep}/${times} done (${seconds} s)`);
      } catch (error) {
        task.into.error = (error instanceof Error ? error.message : String(error)).split("\n")[0];
        console.error(`  ${task.label}: run ${rep}/${times} FAILED: ${task.into.error}`);
      }
    }
  }
}

export function measured<T>(skipped?: string): Measured<T> {
  return skipped === undefined ? { results: [] } : { results: [], skipped };
}

/** `peerSkipped`: why Laravel can't run here (its rows then say so), or undefined. */
export async function runBench(peerSkipped: string | undefined): Promise<BenchResults> {
  const results: BenchResults = {
    noop100: measured(),
    noop10: measured(),
    laravelNoop: measured(peerSkipped),
    wait50: measured(),
    laravelWait50: measured(peerSkipped),
    longRss: measured(),
  };

  console.error(`sqlite no-op (${NOOP_JOBS} jobs; Laravel ${NOOP_LARAVEL_JOBS})`);
  await interleave(REPETITIONS, [
    {
      label: "KQueue c=100",
      into: results.noop100,
      run: () =>
        runKQueueDrain({ job: "BenchNoop", jobs: NOOP_JOBS, concurrency: 100, rssSamples: 5 }),
    },
    {
      label: "KQueue c=10",
      into: results.noop10,
      run: () => runKQueueDrain({ job: "BenchNoop", jobs: NOOP_JOBS, concurrency: 10 }),
    },
    {
      label: "Laravel",
      into: results.laravelNoop,
      run: () => runLaravelPeer(NOOP_LARAVEL_JOBS, "noop"),
    },
  ]);

  console.error(`sqlite 50 ms jobs (${WAIT_JOBS} jobs; Laravel ${WAIT_LARAVEL_JOBS})`);
  await interleave(REPETITIONS, [
    {
      label: `KQueue c=${WAIT_CONCURRENCY}`,
      into: results.wait50,
      run: () =>
        runKQueueDrain({ job: "BenchWait50ms", jobs: WAIT_JOBS, concurrency: WAIT_CONCURRENCY }),
    },
    {
      label: "Laravel",
      into: results.laravelWait50,
      run: () => runLaravelPeer(WAIT_LARAVEL_JOBS, "wait50"),
    },
  ]);

  console.error(`daemon RSS over ${LONG_RSS_JOBS} no-op jobs (1 run)`);
  await interleave(1, [{
    label: "KQueue c=100",
    into: results.longRss,
    run: () =>
      runKQueueDrain({ job: "BenchNoop", jobs: LONG_RSS_JOBS, concurrency: 100, rssSamples: 5 }),
  }]);
  return results;
}
