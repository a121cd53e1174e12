/** Summaries of repeated measurements, and the number formats of the table. */

/** The median and the range of a few repetitions. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("Cannot summarize zero measurements");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

/** `12,345` for large numbers, three significant digits for small ones. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return Math.round(value).toLocaleString("en-US");
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** `40,123 jobs/s (38,900–41,002)`: the median, then the spread over the runs. */
export function formatSummary(summary: Summary, unit: string): string {
  const median = `${formatNumber(summary.median)} ${unit}`;
  if (summary.runs === 1) return `${median} (1 run)`;
  return `${median} (${formatNumber(summary.min)}–${formatNumber(summary.max)})`;
}

/** `12.3×`. */
export function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}×`;
}
