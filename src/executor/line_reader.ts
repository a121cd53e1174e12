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
  const read = chunkReader(stream);
  const splitter = new LineSplitter(maxLineChars);
  try {
    for (;;) {
      const { value, done } = await read.next();
      if (done || value === undefined) break;
      splitter.push(value, onLine);
    }
  } finally {
    read.release();
  }
  splitter.end(onLine);
}

/**
 * Bytes in, lines out. The current line is kept as pieces and joined once:
 * appending to one string re-copies it per chunk (measured: 8 MB without a
 * newline took the daemon from 64 to 135 MB).
 */
class LineSplitter {
  readonly #decoder = new TextDecoder();
  readonly #parts: string[] = [];
  #size = 0;

  constructor(readonly maxLineChars: number) {}

  push(chunk: Uint8Array, onLine: (line: string) => void): void {
    let text = this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline = text.indexOf("\n");
    while (newline >= 0) {
      const piece = text.slice(start, newline);
      if (this.#parts.length === 0) onLine(piece);
      else {
        this.#parts.push(piece);
        onLine(this.#take());
      }
      start = newline + 1;
      newline = text.indexOf("\n", start);
    }
    text = start === 0 ? text : text.slice(start);
    while (this.#size + text.length > this.maxLineChars) {
      const room = this.maxLineChars - this.#size;
      this.#parts.push(text.slice(0, room));
      onLine(this.#take());
      text = text.slice(room);
    }
    if (text.length > 0) {
      this.#parts.push(text);
      this.#size += text.length;
    }
  }

  /** The last line, if it had no newline. */
  end(onLine: (line: string) => void): void {
    const rest = this.#decoder.decode();
    if (rest.length > 0) this.#parts.push(rest);
    if (this.#parts.length > 0) onLine(this.#take());
  }

  #take(): string {
    const line = this.#parts.join("");
    this.#parts.length = 0;
    this.#size = 0;
    return line;
  }
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
  const splitter = new LineSplitter(maxLineChars);
  const lines: string[] = [];
  const collect = (line: string) => lines.push(line);
  for await (const chunk of stream) {
    splitter.push(chunk, collect);
    yield* lines.splice(0);
  }
  splitter.end(collect);
  yield* lines;
}
