/**
 * "Does the daemon's memory stay flat?" measured as a stream, not a backlog:
 * rounds of no-op jobs through one running daemon (scenarios/rss_stream.ts),
 * on SQLite and on Redis, RSS and V8 heap sampled after each round (after a
 * GC). Growth over the second half of the stream, once the JIT, the
 * allocator and the store's caches have warmed up, is memory kept per job.
 */
import type { BenchRedis } from "./redis/redis_server.ts";
import { runDenoScenario } from "./runner.ts";
import { formatNumber } from "./stats.ts";
import type { TableRow } from "./table.ts";

export const STREAM_ROUNDS = 10;
export const STREAM_PER_ROUND = 10_000;
/**
 * Flat: over the second half of the stream, the V8 heap in use grows by at
 * most FLAT_HEAP_MB (nothing kept per job) and the RSS by at most
 * FLAT_RSS_SHARE of itself (the allocator steps now and then; measured: +0–12 MB
 * on ~150 MB, with the heap flat, and no growth past 300,000 jobs).
 */
export const FLAT_HEAP_MB = 1;
export const FLAT_RSS_SHARE = 0.1;

export interface StreamResult {
  readonly rssIdleMb: number;
  readonly rssMb: readonly number[];
  readonly heapUsedMb: readonly number[];
  /** What `--memory` compares: heapTotal + external. */
  readonly memoryMeasureMb: readonly number[];
}

export interface StreamResults {
  readonly sqlite: StreamResult | string;
  readonly redis: StreamResult | string;
}

function runStream(connection: "database" | "redis", env?: Record<string, string>) {
  return runDenoScenario<StreamResult>(
    "rss_stream.ts",
    [
      ...["--job", "BenchNoop", "--connection", connection, "--concurrency", "100"],
      ...["--rounds", String(STREAM_ROUNDS), "--per-round", String(STREAM_PER_ROUND)],
    ],
    env,
    ["--expose-gc"],
  );
}

export async function runStreamBench(redis: BenchRedis | undefined): Promise<StreamResults> {
  const attempt = async (run: () => Promise<StreamResult>) => {
    try {
      return await run();
    } catch (error) {
      return `FAILED: ${(error as Error).message.split("\n")[0]}`;
    }
  };
  console.error(`daemon RSS over a stream of ${STREAM_ROUNDS} × ${STREAM_PER_ROUND} no-op jobs`);
  const sqlite = await attempt(() => runStream("database"));
  const onRedis = redis
    ? await attempt(() => runStream("redis", redis.env("bench_rss_stream_")))
    : "not run: no redis-server";
  return { sqlite, redis: onRedis };
}

/** Growth of `series` from the middle round to the last. */
function secondHalfGrowth(series: readonly number[]): { from: number; by: number } {
  const from = series[Math.floor(series.length / 2) - 1]!;
  return { from, by: series[series.length - 1]! - from };
}

function streamCell(r: StreamResult | string): string {
  if (typeof r === "string") return r;
  const mb = (xs: readonly number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const heap = r.heapUsedMb;
  const limit = Math.max(...r.memoryMeasureMb);
  return `idle ${formatNumber(r.rssIdleMb)} MB; after each ${formatNumber(STREAM_PER_ROUND)}: ${
    mb(r.rssMb)
  } MB (heap used ${heap[0]!.toFixed(1)} → ${heap[heap.length - 1]!.toFixed(1)} MB; ` +
    `--memory measure at most ${limit.toFixed(0)} MB)`;
}

export function streamRows(r: StreamResults): TableRow[] {
  const total = formatNumber(STREAM_ROUNDS * STREAM_PER_ROUND);
  return (["sqlite", "redis"] as const).map((store) => ({
    scenario: `daemon RSS: ${total} no-op jobs as a stream (${store}, c=100, after a GC)`,
    kqueue: streamCell(r[store]),
    peer: "",
    ratio: "",
    target: `flat over the 2nd half (heap ≤ +${FLAT_HEAP_MB} MB, RSS ≤ +${FLAT_RSS_SHARE * 100}%)`,
  }));
}

export function streamVerdicts(r: StreamResults): string[] {
  const total = formatNumber(STREAM_ROUNDS * STREAM_PER_ROUND);
  return (["sqlite", "redis"] as const).map((store) => {
    const result = r[store];
    const what = `daemon RSS flat over ${total} no-op jobs (${store})`;
    if (typeof result === "string") return `FAIL  ${what}: ${result}`;
    const rss = secondHalfGrowth(result.rssMb);
    const heap = secondHalfGrowth(result.heapUsedMb);
    const flat = heap.by <= FLAT_HEAP_MB && rss.by <= rss.from * FLAT_RSS_SHARE;
    const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
    return `${flat ? "PASS" : "FAIL"}  ${what}: from job ${
      formatNumber(STREAM_ROUNDS * STREAM_PER_ROUND / 2)
    } to the last, heap used ${signed(heap.by)} MB, RSS ${signed(rss.by)} MB (${
      rss.from.toFixed(0)
    } MB at mid-stream, ${result.rssMb[0]!.toFixed(0)} MB after the first round)`;
  });
}
