/** Splits a byte stream into text lines; used on both sides of the child's pipes. */

/** Longest line kept whole: a job printing megabytes without a newline must not grow one string forever. */
const DEFAULT_MAX_LINE_CHARS = 1_000_000;

/**
 * Yields each line of `stream` without its `\n`. A last line without a
 * newline is yielded at EOF; an unterminated run longer than `maxLineChars` is yielded in pieces.
 */
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
