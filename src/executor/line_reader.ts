/** Splits a byte stream into text lines; used on both sides of the child's pipes. */

/** Longest line kept whole: a job printing megabytes without a newline must not grow one string forever. */
const DEFAULT_MAX_LINE_CHARS = 1_000_000;

/**
 * Calls `onLine` with each line of `stream` without its `\n`, synchronously
 * per chunk (one await per read, none per line: this is the per-job hot path
 * of a pooled child). A last line without a newline is passed at EOF; an
 * unterminated run longer than `maxLineChars` is passed in pieces. Resolves
 * at EOF; rejects if the stream errors.
 */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  maxLineChars = DEFAULT_MAX_LINE_CHARS,
): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let pending = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let start = 0;
      let newline = pending.indexOf("\n", start);
      while (newline >= 0) {
        onLine(pending.slice(start, newline));
        start = newline + 1;
        newline = pending.indexOf("\n", start);
      }
      pending = start === 0 ? pending : pending.slice(start);
      while (pending.length > maxLineChars) {
        onLine(pending.slice(0, maxLineChars));
        pending = pending.slice(maxLineChars);
      }
    }
  } finally {
    reader.releaseLock();
  }
  pending += decoder.decode();
  if (pending.length > 0) onLine(pending);
}

/** The same lines as an async iterator (for code that reads a few lines in order). */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxLineChars = DEFAULT_MAX_LINE_CHARS,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline = pending.indexOf("\n", start);
    while (newline >= 0) {
      yield pending.slice(start, newline);
      start = newline + 1;
      newline = pending.indexOf("\n", start);
    }
    pending = pending.slice(start);
    while (pending.length > maxLineChars) {
      yield pending.slice(0, maxLineChars);
      pending = pending.slice(maxLineChars);
    }
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending;
}
