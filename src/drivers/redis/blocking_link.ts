/**
 * The connection the Redis driver blocks on (a BLPOP with a reserve right
 * behind it, see notify_waiter.ts): KQueue's own RESP client over Deno's
 * sockets, not ioredis. A wake-up that comes through ioredis and `node:net`
 * costs more on an idle process (measured at 20 wake-ups/s: a bare BLPOP woken
 * by an RPUSH, p50 0.62 → 0.41 ms; in the daemon, push → BLPOP reply 0.70 →
 * 0.63 ms), and that wake-up is most of a job's enqueue → start latency at
 * low load.
 *
 * It reconnects on its own, with the command connection's backoff. While it
 * is down its commands fail at once: the waiter pauses, and the next reserve
 * (on the command connection) reports the outage. A BLPOP that stays
 * unanswered past its own timeout means a stuck socket: `reset` drops it.
 */
import { Buffer } from "node:buffer";
import type { ScriptArgument } from "./lua_script.ts";
import type { RedisEndpoint } from "./redis_endpoint.ts";
import { reconnectDelayMs } from "./redis_link.ts";
import { RespConnection, RespConnectionError } from "./resp_connection.ts";

export interface BlockingLinkOptions {
  /** Shown in `CLIENT LIST`. */
  readonly name: string;
  /** How long `open` keeps trying. Milliseconds. */
  readonly connectTimeoutMs: number;
}

/** Bulk replies as Buffers, as ioredis' `callBuffer` gives them (a copy: the read buffer is reused). */
const asBuffer = (bytes: Uint8Array): Uint8Array => Buffer.from(bytes);

export class BlockingLink {
  readonly #endpoint: RedisEndpoint;
  readonly #o: BlockingLinkOptions;
  #connection: RespConnection | undefined;
  /** Aborted by close(): also ends a connect or login in progress. */
  readonly #closing = new AbortController();
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #failedAttempts = 0;
  #reconnects = 0;

  constructor(endpoint: RedisEndpoint, options: BlockingLinkOptions) {
    this.#endpoint = endpoint;
    this.#o = options;
  }

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  get ready(): boolean {
    return this.#connection !== undefined && !this.#connection.closed;
  }

  /** Times the connection came back after it was lost. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Connects, trying again with backoff for up to `connectTimeoutMs`; else throws a one-line error. */
  async open(): Promise<void> {
    const deadline = performance.now() + this.#o.connectTimeoutMs;
    for (let attempt = 1;; attempt++) {
      try {
        const connection = await this.#connect(Math.max(1, deadline - performance.now()));
        if (this.#closed) return connection.close();
        this.#connection = connection;
        return;
      } catch (error) {
        const pauseMs = reconnectDelayMs(attempt);
        if (this.#closed || performance.now() + pauseMs >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }

  /** `BLPOP keys… timeout`: `[key, value]` as Buffers, or null at the timeout. */
  blpop(keys: readonly string[], timeoutSeconds: string): Promise<unknown> {
    return this.#send(["BLPOP", ...keys, timeoutSeconds]);
  }

  /** A command whose bulk replies come back as Buffers (as `LuaScript.runBuffer` needs). */
  callBuffer(command: string, args: readonly ScriptArgument[]): Promise<unknown> {
    return this.#send([command, ...args]);
  }

  /** The connection looks stuck: fail what is in flight, connect again. */
  reset(): void {
    const connection = this.#connection;
    if (connection === undefined || connection.closed) return;
    connection.close();
    this.#lost();
  }

  /** Closes the socket (what is in flight fails) and stops reconnecting. Idempotent. */
  close(): void {
    this.#closing.abort();
    clearTimeout(this.#reconnectTimer);
    this.#connection?.close();
  }

  #send(args: readonly ScriptArgument[]): Promise<unknown> {
    const connection = this.#connection;
    if (connection === undefined || connection.closed) {
      return Promise.reject(new RespConnectionError("the blocking Redis connection is down"));
    }
    return connection.command(args);
  }

  #connect(timeoutMs: number): Promise<RespConnection> {
    return RespConnection.open(this.#endpoint, this.#o.name, timeoutMs, {
      bulk: asBuffer,
      onLost: () => this.#lost(),
      signal: this.#closing.signal,
    });
  }

  #lost(): void {
    this.#connection = undefined;
    if (this.#closed || this.#reconnectTimer !== undefined) return;
    this.#failedAttempts = 0;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    this.#failedAttempts++;
    this.#reconnectTimer = setTimeout(async () => {
      let connection: RespConnection | undefined;
      try {
        connection = await this.#connect(this.#o.connectTimeoutMs);
      } catch {
        // Down still: try again after a longer pause.
      }
      this.#reconnectTimer = undefined;
      if (this.#closed) return connection?.close();
      // Lost again between its login and now (its onLost found this reconnect pending): retry.
      if (connection === undefined || connection.closed) return this.#scheduleReconnect();
      this.#connection = connection;
      this.#reconnects++;
    }, reconnectDelayMs(this.#failedAttempts));
  }
}
