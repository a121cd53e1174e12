/**
 * `deno task bench`: KQueue's performance acceptance figures, by hand (never
 * in CI). Prints the machine, a table of absolute figures (median and range
 * of 3 runs, each in a fresh process with a fresh SQLite file) with the ratio
 * to a peer measured in the same run, then one PASS/FAIL line per target.
 * The Redis scenarios run on a redis-server of the bench's own (never the
 * machine's 6379), stopped at the end; BullMQ is installed with npm under the
 * temp dir on first use.
 */
import { cell, count, jobsPerSecond, ratio, summaryOf } from "./cells.ts";
import { runStreamBench, streamRows, streamVerdicts } from "./rss_stream_bench.ts";
import { loadAverage, machineFacts } from "./machine.ts";
import {
  type BenchResults,
  LONG_RSS_JOBS,
  type Measured,
  NOOP_JOBS,
  NOOP_LARAVEL_JOBS,
  REPETITIONS,
  runBench,
  WAIT_CONCURRENCY,
  WAIT_JOBS,
  WAIT_LARAVEL_JOBS,
} from "./measure.ts";
import { type DrainResult, laravelPeerUnavailable } from "./runner.ts";
import { formatNumber } from "./stats.ts";
import { renderTable, type TableRow } from "./table.ts";
import { runIsolatedBench } from "./isolated/isolated_measure.ts";
import { isolatedNotes, isolatedRows, isolatedVerdicts } from "./isolated/isolated_report.ts";
import { redisFacts } from "./redis/redis_facts.ts";
import { runRedisBench } from "./redis/redis_measure.ts";
import { redisNotes, redisRows, redisVerdicts } from "./redis/redis_report.ts";
import { ensureBullmq, laravelRedisUnavailable } from "./redis/redis_runner.ts";
import { BenchRedis } from "./redis/redis_server.ts";

/** The issue's thresholds. */
const NOOP_TARGET_JOBS_PER_SECOND = 5_000;
const WAIT_TARGET_SECONDS = 0.4;
const WAIT_IDEAL_SECONDS = 0.2;
/** The daemon's default `--memory` (MB): past it a real daemon drains and exits 12. */
const DEFAULT_MEMORY_LIMIT_MB = 128;

/** The Laravel column: its figure, or why it did not run. */
function laravelCell<T>(m: Measured<T>, value: (r: T) => number, jobs: number): string {
  if (m.skipped !== undefined) return m.skipped;
  return `Laravel, 1 process: ${cell(m, value, "jobs/s", `, ${count(jobs)} jobs`)}`;
}

function rssCell(m: Measured<DrainResult>, withSamples: boolean): string {
  const idle = summaryOf(m, (r) => r.rssIdleMb);
  const after = summaryOf(m, (r) => r.rssAfterMb);
  if (!idle || !after) return cell(m, () => 0, "");
  const range = after.runs > 1
    ? ` (after: ${formatNumber(after.min)}–${formatNumber(after.max)})`
    : "";
  const samples = withSamples && m.results[0]!.rssSamplesMb.length > 0
    ? `; while draining: ${m.results[0]!.rssSamplesMb.map((mb) => mb.toFixed(0)).join(", ")} MB`
    : "";
  return `idle ${formatNumber(idle.median)} MB → ${
    formatNumber(after.median)
  } MB${range}${samples}`;
}

function tableRows(r: BenchResults): TableRow[] {
  const laravelNoop = laravelCell(r.laravelNoop, jobsPerSecond, NOOP_LARAVEL_JOBS);
  return [
    {
      scenario: `sqlite no-op: ${count(NOOP_JOBS)} jobs, concurrency 100`,
      kqueue: cell(r.noop100, jobsPerSecond, "jobs/s"),
      peer: laravelNoop,
      ratio: ratio(r.noop100, jobsPerSecond, r.laravelNoop, jobsPerSecond),
      target: `≥ ${count(NOOP_TARGET_JOBS_PER_SECOND)} jobs/s`,
    },
    {
      scenario: `sqlite no-op: ${count(NOOP_JOBS)} jobs, concurrency 10`,
      kqueue: cell(r.noop10, jobsPerSecond, "jobs/s"),
      peer: laravelNoop,
      ratio: ratio(r.noop10, jobsPerSecond, r.laravelNoop, jobsPerSecond),
      target: "",
    },
    {
      scenario: `sqlite 50 ms jobs: ${
        count(WAIT_JOBS)
      } jobs, concurrency ${WAIT_CONCURRENCY}, drain`,
      kqueue: cell(r.wait50, (x) => x.seconds, "s"),
      peer: "",
      ratio: "",
      target: `≤ ${WAIT_TARGET_SECONDS} s (ideal ${WAIT_IDEAL_SECONDS} s)`,
    },
    {
      scenario: "sqlite 50 ms jobs: throughput",
      kqueue: cell(r.wait50, jobsPerSecond, "jobs/s"),
      peer: laravelCell(r.laravelWait50, jobsPerSecond, WAIT_LARAVEL_JOBS),
      ratio: ratio(r.wait50, jobsPerSecond, r.laravelWait50, jobsPerSecond),
      target: "",
    },
    {
      scenario: `daemon RSS: ${count(NOOP_JOBS)} no-op jobs, concurrency 100`,
      kqueue: rssCell(r.noop100, false),
      peer: "",
      ratio: "",
      target: "flat",
    },
    {
      scenario: `daemon RSS: a backlog of ${count(LONG_RSS_JOBS)} no-op jobs, c=100 (1 run)`,
      kqueue: rssCell(r.longRss, true),
      peer: "",
      ratio: "",
      target: "flat",
    },
  ];
}

function medianOf<T>(m: Measured<T>, value: (r: T) => number, digits = 0): string {
  const summary = summaryOf(m, value);
  return summary === undefined ? "n/a" : summary.median.toFixed(digits);
}

function notes(r: BenchResults): string[] {
  const emptyAfterDone = (x: DrainResult) => (x.seconds - x.lastDoneSeconds) * 1000;
  return [
    "How KQueue is timed: an embedded daemon (library API; event listeners only count) starts on " +
    "the empty queue and goes idle; a separate producer process pushes all jobs in one " +
    "transaction; the clock runs from the first job:started to the moment a second connection " +
    "sees the jobs table empty (counts() polled every 2 ms after the last job:done).",
    `  table empty after the last job:done (median): c=100 ${
      medianOf(r.noop100, emptyAfterDone, 1)
    } ms, 50 ms jobs ${medianOf(r.wait50, emptyAfterDone, 1)} ms`,
    `  max event-loop lag while draining (DaemonResult.maxLagMs, median): no-op c=100 ${
      medianOf(r.noop100, (x) => x.maxLagMs)
    } ms, c=10 ${medianOf(r.noop10, (x) => x.maxLagMs)} ms, 50 ms jobs ${
      medianOf(r.wait50, (x) => x.maxLagMs)
    } ms, ${count(LONG_RSS_JOBS)} no-op ${medianOf(r.longRss, (x) => x.maxLagMs)} ms`,
    `  V8 heapUsed right after the drain: ${count(NOOP_JOBS)} no-op ${
      medianOf(r.noop100, (x) => x.heapUsedAfterMb)
    } MB, ${count(LONG_RSS_JOBS)} no-op ${medianOf(r.longRss, (x) => x.heapUsedAfterMb)} MB ` +
    `(the daemon's --memory stop is off in the bench; its default is ${DEFAULT_MEMORY_LIMIT_MB} MB)`,
    "How Laravel is timed: Illuminate\\Queue\\Worker::daemon('database', 'default', sleep 0, " +
    "stop-when-empty, tries 1) from call to return, 1 process, jobs pushed with Queue::push " +
    "beforehand; its SQLite connection keeps Laravel's defaults (rollback journal, " +
    "synchronous=FULL), KQueue's uses WAL with synchronous=NORMAL.",
    `Each figure: ${REPETITIONS} runs (1 for the ${count(LONG_RSS_JOBS)}-job RSS run), each in ` +
    "its own process and temp dir, KQueue and peer runs interleaved.",
  ];
}

function verdicts(r: BenchResults): string[] {
  const lines: string[] = [];
  const noop = summaryOf(r.noop100, jobsPerSecond);
  lines.push(
    noop === undefined
      ? `FAIL  sqlite no-op ≥ ${count(NOOP_TARGET_JOBS_PER_SECOND)} jobs/s: did not run`
      : `${noop.median >= NOOP_TARGET_JOBS_PER_SECOND ? "PASS" : "FAIL"}  sqlite no-op ≥ ${
        count(NOOP_TARGET_JOBS_PER_SECOND)
      } jobs/s (c=100): median ${formatNumber(noop.median)} jobs/s, slowest run ${
        formatNumber(noop.min)
      }`,
  );
  const wait = summaryOf(r.wait50, (x) => x.seconds);
  lines.push(
    wait === undefined
      ? `FAIL  sqlite 50 ms jobs ≤ ${WAIT_TARGET_SECONDS} s: did not run`
      : `${
        wait.median <= WAIT_TARGET_SECONDS ? "PASS" : "FAIL"
      }  sqlite 50 ms jobs ≤ ${WAIT_TARGET_SECONDS} s (${
        count(WAIT_JOBS)
      } jobs, c=${WAIT_CONCURRENCY}): median ${formatNumber(wait.median)} s, fastest run ${
        formatNumber(wait.min)
      } s (ideal ${WAIT_IDEAL_SECONDS} s)`,
  );
  return lines;
}

const facts = await machineFacts();
const redis = await BenchRedis.start().catch((error: Error) => {
  console.error(`redis-server could not be started, Redis scenarios skipped: ${error.message}`);
  return undefined;
});
try {
  const bullmq = await ensureBullmq();
  console.log(`KQueue bench, ${new Date().toISOString()}`);
  for (const line of [...facts.lines, ...await redisFacts(redis, bullmq)]) console.log(`  ${line}`);
  const peerSkipped = await laravelPeerUnavailable();
  const benchStarted = performance.now();
  const results = await runBench(peerSkipped);
  const redisResults = await runRedisBench(redis, {
    bullmq,
    laravelSkipped: await laravelRedisUnavailable(),
  });
  const streamResults = await runStreamBench(redis);
  const isolated = await runIsolatedBench(redis, bullmq);
  const bullmqVersion = "skipped" in bullmq ? "" : bullmq.version;
  console.log("");
  console.log(
    renderTable([
      ...tableRows(results),
      ...streamRows(streamResults),
      ...isolatedRows(isolated, bullmqVersion),
      ...redisRows(redisResults, bullmqVersion),
    ]),
  );
  console.log("");
  const allNotes = [...notes(results), ...isolatedNotes(isolated), ...redisNotes(redisResults)];
  for (const line of allNotes) console.log(line);
  console.log("");
  const allVerdicts = [
    ...verdicts(results),
    ...streamVerdicts(streamResults),
    ...isolatedVerdicts(isolated),
    ...redisVerdicts(redisResults),
  ];
  for (const line of allVerdicts) console.log(line);
  console.log("");
  console.log(
    `bench took ${
      ((performance.now() - benchStarted) / 1000).toFixed(0)
    } s; load average at end: ${await loadAverage()}`,
  );
} finally {
  await redis?.stop();
}
