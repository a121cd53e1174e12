/** The Redis part of the bench's table, notes and PASS/FAIL lines. */
import { cell, count, jobsPerSecond, ratio, summaryOf } from "../cells.ts";
import type { Measured } from "../measure.ts";
import { formatNumber } from "../stats.ts";
import type { TableRow } from "../table.ts";
import {
  LATENCY_CONCURRENCY,
  LATENCY_JOBS,
  LATENCY_RATE,
  LATENCY_WARMUP,
  REDIS_CONCURRENCIES,
  REDIS_LARAVEL_JOBS,
  REDIS_NOOP_JOBS,
  type RedisResults,
} from "./redis_measure.ts";
import type { LatencyResult } from "./redis_runner.ts";

/** The thresholds. */
const NOOP_TARGET_JOBS_PER_SECOND = 20_000;
const P50_TARGET_MS = 1;
const P99_TARGET_MS = 5;

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const p50 = (r: LatencyResult) => percentile(r.samplesMs, 50);
const p99 = (r: LatencyResult) => percentile(r.samplesMs, 99);
const max = (r: LatencyResult) => Math.max(...r.samplesMs);

/** All counted samples of all runs. */
function pooled(m: Measured<LatencyResult>): number[] {
  return m.results.flatMap((r) => r.samplesMs);
}

function medianOf<T>(m: Measured<T>, value: (r: T) => number, digits = 0): string {
  const summary = summaryOf(m, value);
  return summary === undefined ? "n/a" : summary.median.toFixed(digits);
}

export function redisRows(r: RedisResults, bullmqVersion: string): TableRow[] {
  const rows: TableRow[] = REDIS_CONCURRENCIES.map((c) => {
    const kq = r.kqueue.get(c)!;
    const bull = r.bullmq.get(c)!;
    const bullCell = bull.skipped ??
      `BullMQ ${bullmqVersion}, 1 worker c=${c}: ${cell(bull, jobsPerSecond, "jobs/s")}`;
    const laravelCell = r.laravel.skipped ??
      `Laravel, 1 process: ${cell(r.laravel, jobsPerSecond, "jobs/s")}, ${
        count(REDIS_LARAVEL_JOBS)
      } jobs`;
    return {
      scenario: `redis no-op: ${count(REDIS_NOOP_JOBS)} jobs, concurrency ${c}`,
      kqueue: cell(kq, jobsPerSecond, "jobs/s"),
      peer: `${bullCell}; ${laravelCell}`,
      ratio: `${ratio(kq, jobsPerSecond, bull, jobsPerSecond)} BullMQ, ${
        ratio(kq, jobsPerSecond, r.laravel, jobsPerSecond)
      } Laravel`,
      target: c === 100 ? `≥ ${count(NOOP_TARGET_JOBS_PER_SECOND)} jobs/s` : "",
    };
  });
  const latency = [
    { name: "p50", value: p50, target: `≤ ${P50_TARGET_MS} ms` },
    { name: "p99", value: p99, target: `≤ ${P99_TARGET_MS} ms` },
    { name: "max", value: max, target: "" },
  ];
  for (const { name, value, target } of latency) {
    rows.push({
      scenario: `redis enqueue → start ${name}: ${LATENCY_JOBS} jobs/run at ${LATENCY_RATE} jobs/s`,
      kqueue: cell(r.kqueueLatency, value, "ms"),
      peer: r.bullmqLatency.skipped ??
        `BullMQ ${bullmqVersion}, c=${LATENCY_CONCURRENCY}: ${cell(r.bullmqLatency, value, "ms")}`,
      ratio: ratio(r.kqueueLatency, value, r.bullmqLatency, value),
      target,
    });
  }
  rows.push({
    scenario: `redis wake-up floor p50: bare RPUSH → BLPOP between two idle processes, no queue`,
    kqueue: cell(r.wakeFloor, p50, "ms"),
    peer: "",
    ratio: "",
    target: "",
  });
  return rows;
}

export function redisNotes(r: RedisResults): string[] {
  const kq100 = r.kqueue.get(100)!;
  const emptyAfterDone = (x: { seconds: number; lastDoneSeconds: number }) =>
    (x.seconds - x.lastDoneSeconds) * 1000;
  const cpu = (m: Measured<{ redisCpuUsPerJob: number }>) => medianOf(m, (x) => x.redisCpuUsPerJob);
  const pooledLine = (who: string, m: Measured<LatencyResult>) => {
    const all = pooled(m);
    if (all.length === 0) return `  ${who}: no samples`;
    const f = (n: number) => `${formatNumber(n)} ms`;
    return `  ${who}: ${count(all.length)} samples pooled: p50 ${f(percentile(all, 50))}, p90 ${
      f(percentile(all, 90))
    }, p99 ${f(percentile(all, 99))}, max ${f(Math.max(...all))}, min ${f(Math.min(...all))}`;
  };
  return [
    'How Redis is timed: the bench\'s own redis-server (free port, --save "", --appendonly no), ' +
    "FLUSHALL before each run. KQueue: as for SQLite, an embedded daemon on the Redis connection " +
    "(REDIS_PORT/REDIS_PREFIX; retry_after 90) idles on the empty queue, a separate process pushes " +
    "all jobs with one pushMany (one script call); first job:started → a second connection sees " +
    "list + :delayed + :reserved = 0 (polled every 2 ms after the last job:done).",
    "  BullMQ: one Worker (concurrency c) idles on the empty queue, a separate Node process adds " +
    "the jobs with one addBulk (removeOnComplete: true); first processor call → a second " +
    "connection sees wait + active + delayed + prioritized + waiting-children + paused = 0 " +
    "(getJobCounts polled every 2 ms after the worker's last 'completed' event).",
    "  Laravel: Worker::daemon('redis', 'default', sleep 0, stop-when-empty, tries 1), phpredis, " +
    "retry_after 90, block_for null, from call to return; jobs pushed beforehand with Queue::push.",
    `  queue empty after the last job:done (median, c=100): KQueue ${
      medianOf(kq100, emptyAfterDone, 1)
    } ms, BullMQ ${medianOf(r.bullmq.get(100)!, emptyAfterDone, 1)} ms; KQueue max ` +
    `event-loop lag ${medianOf(kq100, (x) => x.maxLagMs)} ms`,
    `  redis-server CPU per job, push included (median): KQueue c=100 ${cpu(kq100)} µs, c=10 ${
      cpu(r.kqueue.get(10)!)
    } µs; BullMQ c=100 ${cpu(r.bullmq.get(100)!)} µs, c=10 ${cpu(r.bullmq.get(10)!)} µs; ` +
    `Laravel ${cpu(r.laravel)} µs`,
    `How latency is timed: the worker idles on the empty queue; a separate producer process ` +
    `dispatches one job at a time at ${LATENCY_RATE} jobs/s (KQueue: prepareDispatch + push; ` +
    `BullMQ: Queue.add), each carrying its push time (performance.timeOrigin + performance.now(), ` +
    `ms, taken before the payload is built); the job's handler records start − push. ` +
    `${LATENCY_JOBS} counted jobs per run after ${LATENCY_WARMUP} warm-up ones; ` +
    `each table figure is the median (range) over the runs of that run's percentile.`,
    pooledLine("KQueue", r.kqueueLatency),
    pooledLine("BullMQ", r.bullmqLatency),
    pooledLine("bare RPUSH → BLPOP (no queue)", r.wakeFloor),
    "  The wake-up floor is what this machine charges any Redis queue for two idle processes " +
    "and one hop (redis_wake_floor.ts, ioredis on both sides, the same rate); a queue adds the " +
    "payload, its scripts (KQueue: Laravel's push script, and the reserve script Redis runs " +
    "behind the BLPOP before it answers) and its own work.",
  ];
}

export function redisVerdicts(r: RedisResults): string[] {
  const lines: string[] = [];
  const noop = summaryOf(r.kqueue.get(100)!, jobsPerSecond);
  const target = count(NOOP_TARGET_JOBS_PER_SECOND);
  lines.push(
    noop === undefined
      ? `FAIL  redis no-op ≥ ${target} jobs/s: did not run`
      : `${
        noop.median >= NOOP_TARGET_JOBS_PER_SECOND ? "PASS" : "FAIL"
      }  redis no-op ≥ ${target} ` +
        `jobs/s (c=100): median ${formatNumber(noop.median)} jobs/s, slowest run ${
          formatNumber(noop.min)
        }`,
  );
  const all = pooled(r.kqueueLatency);
  for (
    const [name, value, p, limit] of [["p50", p50, 50, P50_TARGET_MS], [
      "p99",
      p99,
      99,
      P99_TARGET_MS,
    ]] as const
  ) {
    const summary = summaryOf(r.kqueueLatency, value);
    lines.push(
      summary === undefined
        ? `FAIL  redis enqueue → start ${name} ≤ ${limit} ms: did not run`
        : `${
          summary.median <= limit ? "PASS" : "FAIL"
        }  redis enqueue → start ${name} ≤ ${limit} ` +
          `ms: median of runs ${formatNumber(summary.median)} ms (runs ${
            formatNumber(summary.min)
          }–${formatNumber(summary.max)}), pooled ${formatNumber(percentile(all, p))} ms`,
    );
  }
  return lines;
}
