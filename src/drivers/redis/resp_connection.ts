/**
 * A minimal Redis client (RESP2 over `Deno.connect` / `Deno.connectTls`) for
 * the lease supervisor Worker: commands are pipelined on one socket and
 * answered in order. It exists because ioredis in a second isolate costs
 * ~26 MB RSS and ~150 ms (measured; a bare Worker is ~10 MB), which pushed a
 * default daemon on Redis past `--memory=128`. It does only what extending
 * leases needs: AUTH, SELECT, CLIENT SETNAME, EVALSHA/EVAL. A dropped
 * connection rejects what was in flight with a `RespConnectionError`; the
 * caller opens a new one.
 */
import { describeEndpoint, type RedisEndpoint } from "./redis_endpoint.ts";

export type RespArgument = string | number | Uint8Array;
export type RespReply = string | number | null | Uint8Array | RespReply[];

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

export class RespConnection {
  readonly #conn: Deno.Conn;
  readonly #pending: Array<{ resolve: (r: RespReply) => void; reject: (e: Error) => void }> = [];
  #buffer: Uint8Array = new Uint8Array(0);
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    void this.#readLoop();
  }

  /** Connects, logs in, selects the database; a one-line error names the server on failure. */
  static async open(
    endpoint: RedisEndpoint,
    name: string,
    timeoutMs: number,
  ): Promise<RespConnection> {
    const where = describeEndpoint(endpoint);
    const connecting = endpoint.tls
      ? Deno.connectTls({ hostname: endpoint.host, port: endpoint.port, caCerts: extraCaCerts() })
      : Deno.connect({ hostname: endpoint.host, port: endpoint.port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    let conn: Deno.Conn;
    try {
      conn = await Promise.race([connecting, timeout]);
    } catch (error) {
      connecting.then((late) => late.close(), () => {});
      throw new RespConnectionError(`Cannot reach Redis at ${where} (${(error as Error).message})`);
    } finally {
      clearTimeout(timer);
    }
    const connection = new RespConnection(conn);
    try {
      if (endpoint.password !== undefined) {
        const user = endpoint.username !== undefined ? [endpoint.username] : [];
        await connection.command(["AUTH", ...user, endpoint.password]);
      }
      if (endpoint.db !== 0) await connection.command(["SELECT", endpoint.db]);
      await connection.command(["CLIENT", "SETNAME", name]);
    } catch (error) {
      connection.close();
      throw error instanceof RespReplyError
        ? new RespReplyError(`Redis at ${where} refused the login: ${error.message}`)
        : error;
    }
    return connection;
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
    this.#conn.write(encodeCommand(args)).catch((error) => this.#fail(error));
    return reply;
  }

  close(): void {
    this.#fail(new RespConnectionError("the Redis connection is closed"));
  }

  #fail(error: unknown): void {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // Already closed by the peer.
      }
    }
    const failure = error instanceof RespConnectionError ? error : new RespConnectionError(
      `the Redis connection failed: ${(error as Error)?.message ?? error}`,
    );
    for (const waiter of this.#pending.splice(0)) waiter.reject(failure);
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) throw new RespConnectionError("Redis closed the connection");
        this.#buffer = concat(this.#buffer, chunk.subarray(0, n));
        for (;;) {
          const parsed = parseReply(this.#buffer, 0);
          if (parsed === undefined) break;
          this.#buffer = this.#buffer.subarray(parsed.end);
          const waiter = this.#pending.shift();
          if (parsed.value instanceof RespReplyError) waiter?.reject(parsed.value);
          else waiter?.resolve(parsed.value);
        }
      }
    } catch (error) {
      this.#fail(error);
    }
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
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = arg instanceof Uint8Array ? arg : encoder.encode(String(arg));
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return concat(...parts);
}

type Parsed = { value: RespReply | RespReplyError; end: number };

/** One reply starting at `at`, or undefined when the buffer does not hold all of it yet. */
function parseReply(buffer: Uint8Array, at: number): Parsed | undefined {
  const lineEnd = indexOfCrlf(buffer, at + 1);
  if (lineEnd < 0) return undefined;
  const line = new TextDecoder().decode(buffer.subarray(at + 1, lineEnd));
  const next = lineEnd + 2;
  switch (buffer[at]) {
    case 43: // +
      return { value: line, end: next };
    case 45: // -
      return { value: new RespReplyError(line), end: next };
    case 58: // :
      return { value: Number(line), end: next };
    case 36: { // $
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.slice(next, next + length), end: next + length + 2 };
    }
    case 42: { // *
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end);
        if (item === undefined) return undefined;
        if (item.value instanceof RespReplyError) throw item.value;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new RespConnectionError(`Redis sent an unreadable reply (${line.slice(0, 40)})`);
  }
}

function indexOfCrlf(buffer: Uint8Array, from: number): number {
  for (let i = from; i < buffer.length - 1; i++) {
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
