/**
 * node:sqlite returns TEXT only up to its first NUL byte, so a payload that
 * holds one (never valid JSON, but anyone can write the jobs table), or an
 * exception text quoting one, would lose its tail: in the failed_jobs row, and
 * in the copy a release writes back. Statements that read such a column also
 * select `bytesIfNul(column)`, the raw bytes when (and only when) there is a
 * NUL, and `wholeText` puts the text back together. BLOB values (hand-written
 * rows) are read as UTF-8 text.
 */
export function bytesIfNul(column: string): string {
  return `CASE WHEN instr(CAST(${column} AS BLOB), x'00') > 0 THEN CAST(${column} AS BLOB) END AS ${column}_bytes`;
}

export const PAYLOAD_BYTES = bytesIfNul("payload");

export interface PayloadColumns {
  readonly payload: string | Uint8Array;
  /** The bytes of a payload holding a NUL; null otherwise. */
  readonly payload_bytes?: Uint8Array | null;
}

/** The whole text of `column` in a row that also selected `bytesIfNul(column)`. */
export function wholeText(row: Readonly<Record<string, unknown>>, column: string): string {
  const value = row[column];
  const bytes = row[`${column}_bytes`] ?? (value instanceof Uint8Array ? value : undefined);
  return bytes instanceof Uint8Array ? new TextDecoder().decode(bytes) : String(value ?? "");
}

export function payloadText(row: PayloadColumns): string {
  return wholeText(row as unknown as Record<string, unknown>, "payload");
}
