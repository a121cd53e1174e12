/** Splits a byte stream into text lines; used on both sides of the child's pipes. */

/** Longest line kept whole: a job printing megabytes without a newline must not grow one string forever. */
const DEFAULT_MAX_LINE_CHARS = 1_000_000;

/** Bytes per read: one buffer, reused for every read of a stream. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Calls `onLine` with each line of `stream` without its `\n`, synchronously
 * per chunk (one await per read, none per line: this is the per-job hot path
 * of a pooled child). A last line without a newline is passed at EOF; an
 * unterminated run longer than `maxLineChars` is passed in pieces. Resolves
 * at EOF; rejects if the stream errors.
 *
 * Byte streams (Deno's pipes) are read into one reused buffer: the default
 * reader allocates a new 64 KB buffer for every read, which on a pooled
 * child's pipes is 64 KB of garbage per job.
 */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  maxLineChars = DEFAULT_MAX_LINE_CHARS,
): Promise<void> {
  const decoder = new TextDecoder();
  const read = chunkReader(stream);
  let pending = "";
  try {
    for (;;) {
      const { value, done } = await read.next();
      if (done || value === undefined) break;
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
    read.release();
  }
  pending += decoder.decode();
  if (pending.length > 0) onLine(pending);
}

interface ChunkReader {
  next(): Promise<ReadableStreamReadResult<Uint8Array>>;
  release(): void;
}

/** A BYOB reader over one reused buffer when the stream is a byte stream, else the default one. */
function chunkReader(stream: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    const reader = stream.getReader();
    return { next: () => reader.read(), release: () => reader.releaseLock() };
  }
  let buffer = new ArrayBuffer(READ_BUFFER_BYTES);
  return {
    async next() {
      const result = await byob.read(new Uint8Array(buffer));
      // The buffer was transferred into the read; the result's view holds it now.
      if (result.value) buffer = result.value.buffer as ArrayBuffer;
      return result as ReadableStreamReadResult<Uint8Array>;
    },
    release: () => byob.releaseLock(),
  };
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
