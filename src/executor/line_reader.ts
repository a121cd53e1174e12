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
  // The current line's pieces, joined once: appending to one string re-copies it per chunk.
  const parts: string[] = [];
  let size = 0;
  const take = (): string => {
    const line = parts.join("");
    parts.length = 0;
    size = 0;
    return line;
  };
  for await (const chunk of stream) {
    let text = decoder.decode(chunk, { stream: true });
    let newline = text.indexOf("\n");
    while (newline >= 0) {
      parts.push(text.slice(0, newline));
      yield take();
      text = text.slice(newline + 1);
      newline = text.indexOf("\n");
    }
    while (size + text.length > maxLineChars) {
      const room = maxLineChars - size;
      parts.push(text.slice(0, room));
      yield take();
      text = text.slice(room);
    }
    if (text.length > 0) {
      parts.push(text);
      size += text.length;
    }
  }
  const rest = decoder.decode();
  if (rest.length > 0) parts.push(rest);
  if (parts.length > 0) yield take();
}
