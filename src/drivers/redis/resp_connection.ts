/**
 * A minimal Redis client (RESP2 over `Deno.connect` / `Deno.connectTls`):
 * commands are pipelined on one socket and answered in order. Used where
 * ioredis costs too much: in the lease supervisor Worker (ioredis in a second
 * isolate costs ~26 MB RSS and ~150 ms, measured; a bare Worker is ~10 MB),
 * and for the blocking connection (`blocking_link.ts`), where ioredis' path
 * through `node:net` added ~0.2 ms to every wake-up (measured). It does only
 * what those need: AUTH, SELECT, CLIENT SETNAME, BLPOP, EVALSHA/EVAL. A
 * dropped connection rejects what was in flight with a `RespConnectionError`
 * (and tells `onLost`); the caller opens a new one.
 */
import { describeEndpoint, type RedisEndpoint } from "./redis_endpoint.ts";

export type RespArgument = string | number | Uint8Array;
export type RespReply = string | number | null | Uint8Array | RespReply[];
/** Makes a bulk string's reply from its bytes (a view of the read buffer, which is reused). */
export type BulkReader = (bytes: Uint8Array) => Uint8Array;

/** The connection failed (refused, reset, closed): send again on a new connection. */
export class RespConnectionError extends Error {
  override name = "RespConnectionError";
}

/** Redis refused the command (`-ERR …`, `-NOSCRIPT …`). */
export class RespReplyError extends Error {
  override name = "RespReplyError";
}

const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The read buffer's first size, and the free space each read gets at least. Bytes. */
const INITIAL_BUFFER_BYTES = 64 * 1024;
const MIN_READ_BYTES = 16 * 1024;

export interface RespConnectionOptions {
  /** Called once when the connection, once open, ends for any reason but `close()`. */
  readonly onLost?: (error: RespConnectionError) => void;
  /** How bulk strings are returned. @default a copy, as a Uint8Array */
  readonly bulk?: BulkReader;
  /** Gives up opening (connect and login) when it aborts. */
  readonly signal?: AbortSignal;
}

const copyBytes: BulkReader = (bytes) => bytes.slice();

export class RespConnection {
  readonly #conn: Deno.Conn;
  readonly #pending: Array<{ resolve: (r: RespReply) => void; reject: (e: Error) => void }> = [];
  #onLost: ((error: RespConnectionError) => void) | undefined;
  #bulk: BulkReader = copyBytes;
  /** Bytes read and not yet parsed: `#buffer[#start, #end)`. */
  #buffer = new Uint8Array(INITIAL_BUFFER_BYTES);
  #start = 0;
  #end = 0;
  /** Encoded commands not handed to the socket yet, and whether a write is in progress. */
  #unsent: Uint8Array[] = [];
  #writing = false;
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    void this.#readLoop();
  }

  /**
   * Connects, logs in, selects the database, all within `timeoutMs` (a server
   * that accepts and never answers fails too) or until `options.signal`
   * aborts; a one-line error names the server on failure.
   */
  static async open(
    endpoint: RedisEndpoint,
    name: string,
    timeoutMs: number,
    options: RespConnectionOptions = {},
  ): Promise<RespConnection> {
    const where = describeEndpoint(endpoint);
    const connecting = endpoint.tls
      ? Deno.connectTls({ hostname: endpoint.host, port: endpoint.port, caCerts: extraCaCerts() })
      : Deno.connect({ hostname: endpoint.host, port: endpoint.port });
    let giveUp!: (error: Error) => void;
    const ended = new Promise<never>((_, reject) => giveUp = reject);
    const timer = setTimeout(() => giveUp(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => giveUp(new Error("closed while connecting"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    try {
      let conn: Deno.Conn;
      try {
        conn = await Promise.race([connecting, ended]);
      } catch (error) {
        connecting.then((late) => late.close(), () => {});
        throw new RespConnectionError(
          `Cannot reach Redis at ${where} (${(error as Error).message})`,
        );
      }
      // A peer that vanishes without a FIN is found by the kernel's keep-alive probes.
      if ("setKeepAlive" in conn) (conn as Deno.TcpConn).setKeepAlive(true);
      const connection = new RespConnection(conn);
      try {
        await Promise.race([connection.#logIn(endpoint, name), ended]);
      } catch (error) {
        connection.close();
        if (error instanceof RespReplyError) {
          throw new RespReplyError(`Redis at ${where} refused the login: ${error.message}`);
        }
        throw error instanceof RespConnectionError ? error : new RespConnectionError(
          `Cannot reach Redis at ${where} (${(error as Error).message})`,
        );
      }
      // Told only once logged in: a failed login is the caller's error, not a lost connection.
      connection.#onLost = options.onLost;
      if (options.bulk) connection.#bulk = options.bulk;
      return connection;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #logIn(endpoint: RedisEndpoint, name: string): Promise<void> {
    if (endpoint.password !== undefined) {
      const user = endpoint.username !== undefined ? [endpoint.username] : [];
      await this.command(["AUTH", ...user, endpoint.password]);
    }
    if (endpoint.db !== 0) await this.command(["SELECT", endpoint.db]);
    await this.command(["CLIENT", "SETNAME", name]);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one command (written at once: calls made together are pipelined). */
  command(args: readonly RespArgument[]): Promise<RespReply> {
    if (this.#closed) {
      return Promise.reject(new RespConnectionError("the Redis connection is closed"));
    }
    const reply = new Promise<RespReply>((resolve, reject) =>
      this.#pending.push({ resolve, reject })
    );
    this.#unsent.push(encodeCommand(args));
    if (!this.#writing) void this.#flush();
    return reply;
  }

  /** Writes the queued commands in order, each whole (a `write` may take only part of its bytes). */
  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#unsent.length > 0) {
        const parts = this.#unsent.splice(0);
        let bytes = parts.length === 1 ? parts[0]! : concat(...parts);
        while (bytes.length > 0) bytes = bytes.subarray(await this.#conn.write(bytes));
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#writing = false;
    }
  }

  /** Commands sent and not answered yet. */
  get pending(): number {
    return this.#pending.length;
  }

  close(): void {
    this.#fail(new RespConnectionError("the Redis connection is closed"), false);
  }

  #fail(error: unknown, lost = true): void {
    const failure = error instanceof RespConnectionError ? error : new RespConnectionError(
      `the Redis connection failed: ${(error as Error)?.message ?? error}`,
    );
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // Already closed by the peer.
      }
      if (lost) this.#onLost?.(failure);
    }
    for (const waiter of this.#pending.splice(0)) waiter.reject(failure);
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        this.#makeRoom();
        const n = await this.#conn.read(this.#buffer.subarray(this.#end));
        if (n === null) throw new RespConnectionError("Redis closed the connection");
        this.#end += n;
        // A reply is parsed once it is all here: one arriving over many reads is not re-made at each.
        while (replyEnd(this.#buffer, this.#start, this.#end) >= 0) {
          const parsed = parseReply(this.#buffer, this.#start, this.#end, this.#bulk)!;
          this.#start = parsed.end;
          const waiter = this.#pending.shift();
          if (parsed.value instanceof RespReplyError) waiter?.reject(parsed.value);
          else waiter?.resolve(parsed.value);
        }
        if (this.#start === this.#end) {
          this.#start = this.#end = 0;
          // Not held for good after one large reply.
          if (this.#buffer.length > INITIAL_BUFFER_BYTES) {
            this.#buffer = new Uint8Array(INITIAL_BUFFER_BYTES);
          }
        }
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Keeps at least MIN_READ_BYTES free after `#end`: moves the unparsed bytes down, or grows. */
  #makeRoom(): void {
    if (this.#buffer.length - this.#end >= MIN_READ_BYTES) return;
    const unparsed = this.#end - this.#start;
    if (unparsed + MIN_READ_BYTES <= this.#buffer.length / 2) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      // Doubling: a large reply arriving in many reads is copied O(its size) times in all.
      const grown = new Uint8Array(this.#buffer.length * 2);
      grown.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = grown;
    }
    this.#start = 0;
    this.#end = unparsed;
  }
}

/** NODE_EXTRA_CA_CERTS, as ioredis (Node's TLS) honours it; Deno's own DENO_CERT applies anyway. */
function extraCaCerts(): string[] | undefined {
  try {
    const file = Deno.env.get("NODE_EXTRA_CA_CERTS");
    return file ? [Deno.readTextFileSync(file)] : undefined;
  } catch {
    return undefined;
  }
}

function encodeCommand(args: readonly RespArgument[]): Uint8Array {
  // The common case (ASCII strings and numbers) is one string, encoded once.
  let text = `*${args.length}\r\n`;
  for (const arg of args) {
    if (typeof arg === "number") {
      const digits = String(arg);
      text += `$${digits.length}\r\n${digits}\r\n`;
    } else if (typeof arg === "string" && isAscii(arg)) {
      text += `$${arg.length}\r\n${arg}\r\n`;
    } else {
      return encodeParts(args);
    }
  }
  return encoder.encode(text);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function encodeParts(args: readonly RespArgument[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = arg instanceof Uint8Array ? arg : encoder.encode(String(arg));
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return concat(...parts);
}

type Parsed = { value: RespReply | RespReplyError; end: number };

/**
 * One reply starting at `at`, or undefined when `buffer[at, limit)` does not
 * hold all of it yet. An error inside an array makes the whole reply that error.
 */
export function parseReply(
  buffer: Uint8Array,
  at: number,
  limit: number,
  bulk: BulkReader,
): Parsed | undefined {
  const lineEnd = indexOfCrlf(buffer, at + 1, limit);
  if (lineEnd < 0) return undefined;
  const next = lineEnd + 2;
  switch (buffer[at]) {
    case 43: // +
      return { value: decoder.decode(buffer.subarray(at + 1, lineEnd)), end: next };
    case 45: // -
      return {
        value: new RespReplyError(decoder.decode(buffer.subarray(at + 1, lineEnd))),
        end: next,
      };
    case 58: // :
      return { value: integerAt(buffer, at + 1, lineEnd), end: next };
    case 36: { // $
      const length = integerAt(buffer, at + 1, lineEnd);
      if (length < 0) return { value: null, end: next };
      if (limit < next + length + 2) return undefined;
      return { value: bulk(buffer.subarray(next, next + length)), end: next + length + 2 };
    }
    case 42: { // *
      const count = integerAt(buffer, at + 1, lineEnd);
      if (count < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let error: RespReplyError | undefined;
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end, limit, bulk);
        if (item === undefined) return undefined;
        if (item.value instanceof RespReplyError) error ??= item.value;
        else items.push(item.value);
        end = item.end;
      }
      return { value: error ?? items, end };
    }
    default: {
      const line = decoder.decode(buffer.subarray(at, Math.min(lineEnd, at + 40)));
      throw new RespConnectionError(`Redis sent an unreadable reply (${line})`);
    }
  }
}

/**
 * Where the reply starting at `at` ends, or -1 when `buffer[at, limit)` does
 * not hold all of it yet; reads only the headers (bulk strings are skipped by
 * their length). A type it does not know ends at its line: `parseReply` names it.
 */
function replyEnd(buffer: Uint8Array, at: number, limit: number): number {
  if (at >= limit) return -1;
  const lineEnd = indexOfCrlf(buffer, at + 1, limit);
  if (lineEnd < 0) return -1;
  const next = lineEnd + 2;
  switch (buffer[at]) {
    case 36: { // $
      const length = integerAt(buffer, at + 1, lineEnd);
      if (length < 0) return next;
      return limit < next + length + 2 ? -1 : next + length + 2;
    }
    case 42: { // *
      const count = integerAt(buffer, at + 1, lineEnd);
      let end = next;
      for (let i = 0; i < count && end >= 0; i++) end = replyEnd(buffer, end, limit);
      return end;
    }
    default:
      return next;
  }
}

/** The decimal integer in `buffer[from, to)` (RESP lengths and `:` replies). */
function integerAt(buffer: Uint8Array, from: number, to: number): number {
  const negative = buffer[from] === 45; // -
  const digitsFrom = negative ? from + 1 : from;
  let n = 0;
  for (let i = digitsFrom; i < to; i++) {
    const digit = buffer[i]! - 48;
    if (digit < 0 || digit > 9) n = NaN;
    n = n * 10 + digit;
  }
  if (to === digitsFrom || Number.isNaN(n)) {
    const text = decoder.decode(buffer.subarray(from, Math.min(to, from + 40)));
    throw new RespConnectionError(`Redis sent an unreadable number (${text})`);
  }
  // Past 15 digits the sum above may round differently from the nearest double.
  if (to - digitsFrom > 15) return Number(decoder.decode(buffer.subarray(from, to)));
  return negative ? -n : n;
}

function indexOfCrlf(buffer: Uint8Array, from: number, limit: number): number {
  for (let i = from; i < limit - 1; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  }
  return -1;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
