/** What every report table shares: how a measurement becomes a cell, a ratio, a count. */
import type { Measured } from "./measure.ts";
import { formatRatio, formatSummary, summarize, type Summary } from "./stats.ts";

export type Metric<T> = (result: T) => number;

export const jobsPerSecond = (r: { jobs: number; seconds: number }) => r.jobs / r.seconds;
export const count = (n: number) => n.toLocaleString("en-US");

export function summaryOf<T>(m: Measured<T>, value: Metric<T>): Summary | undefined {
  return m.results.length === 0 ? undefined : summarize(m.results.map(value));
}

/** A table cell: the summary, or why there is none; a failure after some runs is shown too. */
export function cell<T>(m: Measured<T>, value: Metric<T>, unit: string, suffix = ""): string {
  if (m.skipped !== undefined) return m.skipped;
  const summary = summaryOf(m, value);
  const failed = m.error === undefined ? "" : ` [FAILED: ${m.error.slice(0, 120)}]`;
  if (summary === undefined) return `did not run${failed}`;
  return `${formatSummary(summary, unit)}${suffix}${failed}`;
}

/** KQueue's median over the peer's, or "—" when either did not run. */
export function ratio<A, B>(
  kq: Measured<A>,
  kqValue: Metric<A>,
  peer: Measured<B>,
  peerValue: Metric<B>,
) {
  const a = summaryOf(kq, kqValue);
  const b = summaryOf(peer, peerValue);
  return a && b ? formatRatio(a.median / b.median) : "—";
}
