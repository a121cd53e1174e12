/**
 * A minimal Redis client (RESP2 over `Deno.connect` / `Deno.connectTls`):
 * commands are pipelined on one socket and answered in order. Used where
 * ioredis costs too much: in the lease supervisor Worker (ioredis in a second
 * isolate costs ~26 MB RSS and ~150 ms, measured; a bare Worker is ~10 MB),
 * and for the blocking connection (`blocking_link.ts`), where ioredis' path
 * through `node:net` made every wake-up slower (see there). It does only
 * what those need: AUTH, SELECT, CLIENT SETNAME, BLPOP, EVALSHA/EVAL. A
 * dropped connection rejects what was in flight with a `RespConnectionError`
 * (and tells `onLost`); the caller opens a new one. The wire format is in
 * `resp_wire.ts`.
 */
import { describeEndpoint, type RedisEndpoint } from "./redis_endpoint.ts";
import {
  type BulkReader,
  concat,
  encodeCommand,
  parseReply,
  replyEnd,
  type RespArgument,
  RespConnectionError,
  type RespReply,
  RespReplyError,
} from "./resp_wire.ts";

export {
  type RespArgument,
  RespConnectionError,
  type RespReply,
  RespReplyError,
} from "./resp_wire.ts";

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
    const connecting = connectSocket(endpoint);
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

/**
 * A TCP socket with keep-alive (a peer that vanishes without a FIN is found
 * by the kernel's probes) and without Nagle's algorithm (the reserve written
 * right behind a BLPOP, which Redis answers only later, must not wait ~40 ms
 * for that BLPOP's ACK; ioredis sets the same); TLS is started on it.
 */
async function connectSocket(endpoint: RedisEndpoint): Promise<Deno.Conn> {
  const tcp = await Deno.connect({ hostname: endpoint.host, port: endpoint.port });
  tcp.setKeepAlive(true);
  tcp.setNoDelay(true);
  if (!endpoint.tls) return tcp;
  try {
    return await Deno.startTls(tcp, { hostname: endpoint.host, caCerts: extraCaCerts() });
  } catch (error) {
    tcp.close();
    throw error;
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
