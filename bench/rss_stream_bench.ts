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
/** The second half of the stream may grow by at most this much RSS to count as flat. */
export const FLAT_RSS_MB = 5;

export interface StreamResult {
  readonly rssIdleMb: number;
  readonly rssMb: readonly number[];
  readonly heapUsedMb: readonly number[];
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

/** RSS growth (MB) from the middle round to the last. */
function secondHalfGrowth(r: StreamResult): number {
  const middle = r.rssMb[Math.floor(r.rssMb.length / 2) - 1]!;
  return r.rssMb[r.rssMb.length - 1]! - middle;
}

function streamCell(r: StreamResult | string): string {
  if (typeof r === "string") return r;
  const mb = (xs: readonly number[]) => xs.map((x) => x.toFixed(0)).join(", ");
  const heap = r.heapUsedMb;
  return `idle ${formatNumber(r.rssIdleMb)} MB; after each ${formatNumber(STREAM_PER_ROUND)}: ${
    mb(r.rssMb)
  } MB (heap ${heap[0]!.toFixed(1)} → ${heap[heap.length - 1]!.toFixed(1)} MB)`;
}

export function streamRows(r: StreamResults): TableRow[] {
  const total = formatNumber(STREAM_ROUNDS * STREAM_PER_ROUND);
  return (["sqlite", "redis"] as const).map((store) => ({
    scenario: `daemon RSS: ${total} no-op jobs as a stream (${store}, c=100, after a GC)`,
    kqueue: streamCell(r[store]),
    peer: "",
    ratio: "",
    target: `flat (≤ +${FLAT_RSS_MB} MB over the 2nd half)`,
  }));
}

export function streamVerdicts(r: StreamResults): string[] {
  const total = formatNumber(STREAM_ROUNDS * STREAM_PER_ROUND);
  return (["sqlite", "redis"] as const).map((store) => {
    const result = r[store];
    const what = `daemon RSS flat over ${total} no-op jobs (${store})`;
    if (typeof result === "string") return `FAIL  ${what}: ${result}`;
    const growth = secondHalfGrowth(result);
    return `${growth <= FLAT_RSS_MB ? "PASS" : "FAIL"}  ${what}: ${growth >= 0 ? "+" : ""}${
      growth.toFixed(1)
    } MB from job ${formatNumber(STREAM_ROUNDS * STREAM_PER_ROUND / 2)} to the last (${
      result.rssMb[0]!.toFixed(0)
    } MB after the first round)`;
  });
}
