/** The isolated part of the bench's table, notes and PASS/FAIL lines. */
import { cell, count, jobsPerSecond, ratio, summaryOf } from "../cells.ts";
import type { Measured } from "../measure.ts";
import type { DrainResult, PoolProfileResult } from "../runner.ts";
import { formatNumber } from "../stats.ts";
import type { TableRow } from "../table.ts";
import {
  FRESH_CONCURRENCIES,
  FRESH_JOBS,
  type IsolatedResults,
  POOLED_CHILDREN,
  POOLED_JOBS,
  POOLED_MAX_JOBS_PER_CHILD,
  REDIS_POOLED_JOBS,
  SPAWN_CALLS,
} from "./isolated_measure.ts";

/** The threshold: pooled isolated no-op jobs with 4 children. */
const POOLED_TARGET_JOBS_PER_SECOND = 3_000;

function rssCell(m: Measured<DrainResult>): string {
  const idle = summaryOf(m, (r) => r.rssIdleMb);
  const after = summaryOf(m, (r) => r.rssAfterMb);
  if (!idle || !after) return cell(m, () => 0, "");
  const samples = m.results[0]!.rssSamplesMb.map((mb) => mb.toFixed(0)).join(", ");
  return `idle ${formatNumber(idle.median)} MB → ${formatNumber(after.median)} MB (after: ${
    formatNumber(after.min)
  }–${formatNumber(after.max)}); run 1 while draining: ${samples} MB`;
}

export function isolatedRows(r: IsolatedResults, bullmqVersion: string): TableRow[] {
  const bullmq = (m: Measured<unknown>, how: string) =>
    m.skipped ?? `BullMQ ${bullmqVersion} sandboxed (${how}), c=${POOLED_CHILDREN}, redis`;
  return [
    {
      scenario: `isolated no-op: cold spawn → result (median of ${SPAWN_CALLS} runIsolated)`,
      kqueue: cell(r.spawn, (x) => x.medianMs, "ms"),
      peer: "",
      ratio: "",
      target: "",
    },
    ...FRESH_CONCURRENCIES.map((c) => ({
      scenario:
        `isolated no-op, default pool (a fresh, pre-started child per job): ${FRESH_JOBS} ` +
        `jobs, isolatedConcurrency ${c}`,
      kqueue: cell(r.fresh.get(c)!, jobsPerSecond, "jobs/s"),
      peer: "",
      ratio: "",
      target: "",
    })),
    {
      scenario: `isolated no-op, pool with reuse: ${count(POOLED_JOBS)} jobs, ${POOLED_CHILDREN} ` +
        `children, maxJobsPerChild ${POOLED_MAX_JOBS_PER_CHILD}, sqlite`,
      kqueue: cell(r.pooled, jobsPerSecond, "jobs/s"),
      peer: `${bullmq(r.bullmqSandboxed, "child processes")}: ${
        cell(r.bullmqSandboxed, jobsPerSecond, "jobs/s")
      }`,
      ratio: ratio(r.pooled, jobsPerSecond, r.bullmqSandboxed, jobsPerSecond),
      target: `≥ ${count(POOLED_TARGET_JOBS_PER_SECOND)} jobs/s`,
    },
    {
      scenario: `isolated no-op, pool with reuse on redis: ${count(REDIS_POOLED_JOBS)} jobs, ` +
        `${POOLED_CHILDREN} children`,
      kqueue: cell(r.pooledRedis, jobsPerSecond, "jobs/s"),
      peer: `${bullmq(r.bullmqSandboxed, "child processes")}: ${
        cell(r.bullmqSandboxed, jobsPerSecond, "jobs/s")
      }; ${bullmq(r.bullmqThreads, "worker threads")}: ${
        cell(r.bullmqThreads, jobsPerSecond, "jobs/s")
      }`,
      ratio: `${ratio(r.pooledRedis, jobsPerSecond, r.bullmqSandboxed, jobsPerSecond)} processes, ${
        ratio(r.pooledRedis, jobsPerSecond, r.bullmqThreads, jobsPerSecond)
      } threads`,
      target: "",
    },
    {
      scenario: `daemon RSS: ${count(POOLED_JOBS)} isolated no-op jobs (pool with reuse)`,
      kqueue: rssCell(r.pooled),
      peer: "",
      ratio: "",
      target: "flat",
    },
  ];
}

export function isolatedNotes(r: IsolatedResults): string[] {
  const perChildMs = (x: { jobs: number; seconds: number }) =>
    (x.seconds * 1000 * POOLED_CHILDREN) / x.jobs;
  const median = <T>(m: Measured<T>, value: (x: T) => number, digits = 0) => {
    const summary = summaryOf(m, value);
    return summary === undefined ? "n/a" : summary.median.toFixed(digits);
  };
  const profile = (m: Measured<PoolProfileResult>) =>
    `${median(m, (x) => x.jobsPerSecond)} jobs/s, CPU per job: daemon ${
      median(m, (x) => x.daemonCpuUs)
    } µs, child ${median(m, (x) => x.childCpuUs)} µs`;
  return [
    "How isolated jobs are timed: the same embedded-daemon drain as above (concurrency 100), with " +
    "the job class isolated: every attempt runs in a child process of the pool. 'Cold spawn' is " +
    "runIsolated called sequentially: spawn, load the class, run, exit, nothing pre-started.",
    `  pool with reuse, sqlite: ${
      median(r.pooled, perChildMs, 2)
    } ms per job per child (wall); max event-loop lag ${
      median(r.pooled, (x) => x.maxLagMs, 0)
    } ms; daemon CPU ${
      median(r.pooled, (x) => x.daemonCpuUsPerJob)
    } µs per job. BullMQ's sandboxed peer is on Redis (its only store); the redis row compares like with like.`,
    `  where a pooled job's time goes (${POOLED_CHILDREN} children, no queue, medians): KQueue's ` +
    `pool ${profile(r.profilePool)}; bare pipes + Worker hop (the floor of this design: ` +
    `bare_child.ts) ${profile(r.profileBare)}. The rest of the daemon's CPU per job is the queue ` +
    "(reserve, ack, decode, events).",
  ];
}

export function isolatedVerdicts(r: IsolatedResults): string[] {
  const pooled = summaryOf(r.pooled, jobsPerSecond);
  const what = `isolated pooled no-op ≥ ${count(POOLED_TARGET_JOBS_PER_SECOND)} jobs/s ` +
    `(${POOLED_CHILDREN} children, reuse)`;
  if (pooled === undefined) return [`FAIL  ${what}: did not run`];
  const verdict = pooled.median >= POOLED_TARGET_JOBS_PER_SECOND ? "PASS" : "FAIL";
  return [
    `${verdict}  ${what}: median ${formatNumber(pooled.median)} jobs/s, slowest run ${
      formatNumber(pooled.min)
    }`,
  ];
}
