/**
 * One ioredis connection with what the driver needs around it: the last
 * socket error (for one-line messages), waiting for (re)connection, and
 * telling a connection failure (retry after reconnect) from a Redis reply.
 *
 * ioredis reconnects on its own with backoff. Commands issued while it is
 * down wait in its offline queue; commands in flight when the socket dropped
 * are resent after reconnecting. `maxRetriesPerRequest` bounds how many
 * reconnect attempts a command waits through before it fails.
 */
import { isIP } from "node:net";
import { KQueueError, StoreRefusedError, StoreUnreachableError } from "../../errors.ts";
import { Redis, type RedisOptions } from "./ioredis.ts";
import { describeEndpoint, type RedisEndpoint } from "./redis_endpoint.ts";

export interface RedisLinkOptions {
  /** Shown in `CLIENT LIST` (`kqueue`, `kqueue-blocking`). */
  readonly name: string;
  /** Reconnect attempts a command waits through before failing; null = forever. */
  readonly maxRetriesPerRequest: number | null;
}

/** Reconnect backoff: 50 ms doubling to 2 s, with jitter so daemons don't reconnect in lockstep. */
export function reconnectDelayMs(attempt: number): number {
  const step = Math.min(2000, 50 * 2 ** Math.min(attempt - 1, 6));
  return Math.round(step * (0.75 + Math.random() * 0.5));
}

export class RedisLink {
  readonly client: Redis;
  readonly endpoint: RedisEndpoint;
  #lastError: Error | undefined;
  #closed = false;
  #readyCount = 0;

  constructor(endpoint: RedisEndpoint, options: RedisLinkOptions) {
    this.endpoint = endpoint;
    const redisOptions: RedisOptions = {
      host: endpoint.host,
      port: endpoint.port,
      db: endpoint.db,
      ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
      ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
      // SNI takes a host name, never an IP address.
      ...(endpoint.tls ? { tls: isIP(endpoint.host) ? {} : { servername: endpoint.host } } : {}),
      connectionName: options.name,
      // Connects in open(), or at the first command.
      lazyConnect: true,
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      retryStrategy: reconnectDelayMs,
      // CLIENT SETINFO exists from Redis 7.2 only: skip the two round trips.
      disableClientInfo: true,
    };
    this.client = new Redis(redisOptions);
    this.client.on("error", (error: Error) => {
      this.#lastError = error;
    });
    this.client.on("ready", () => {
      this.#lastError = undefined;
      this.#readyCount++;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Times the connection came back after the first connect. */
  get reconnects(): number {
    return Math.max(0, this.#readyCount - 1);
  }

  get ready(): boolean {
    return this.client.status === "ready";
  }

  /**
   * Connects, waiting up to `timeoutMs` (ioredis retries in between), or
   * throws a one-line error naming the server and the fix.
   */
  async open(timeoutMs: number): Promise<void> {
    this.client.connect().catch(() => {
      // Failures arrive as "error" events; ioredis keeps retrying until the deadline.
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.whenReady(),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            const timeout = Object.assign(new Error(`no answer in ${timeoutMs} ms`), {
              code: "ETIMEDOUT",
            });
            reject(this.describe(timeout, "connect"));
          }, timeoutMs);
        }),
      ]);
    } catch (error) {
      this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the connection is (again) ready; rejects once the link is closed. */
  whenReady(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the Redis connection is closed"));
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onReady = () => {
        this.client.off("end", onEnd);
        resolve();
      };
      const onEnd = () => {
        this.client.off("ready", onReady);
        reject(this.describe(undefined, "connect"));
      };
      this.client.once("ready", onReady);
      this.client.once("end", onEnd);
    });
  }

  /** Closes the socket now (pending commands fail) and stops reconnecting. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.client.disconnect();
  }

  /**
   * One line for an error: a refused/lost connection names the server and
   * the variables to check; a Redis reply is kept, with what was attempted
   * (a StoreRefusedError unless it is a transient one: LOADING, BUSY…).
   * KQueue's own named errors are already one line: returned as they are.
   */
  describe(error: unknown, action: string): Error {
    if (error instanceof KQueueError) return error;
    const where = describeEndpoint(this.endpoint);
    const vars = this.endpoint.source ?? "REDIS_HOST/REDIS_PORT";
    if (error !== undefined && !isConnectionError(error) && !isLoginError(error)) {
      const reply = firstLine(messageOf(error));
      const message = `Cannot ${action} as Redis at ${where} replied: ${reply}`;
      return isTransientReply(error)
        ? new Error(message, { cause: error })
        : new StoreRefusedError(message, { cause: error });
    }
    // A failed command says little ("max retries"); the socket's last error says why.
    const cause = this.#lastError ?? error;
    const message = messageOf(cause);
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
      return new Error(
        `Cannot ${action} as Redis at ${where} refused the login (${firstLine(message)}): ` +
          `check REDIS_USERNAME/REDIS_PASSWORD`,
        { cause },
      );
    }
    if (/NOAUTH/.test(message)) {
      return new Error(
        `Cannot ${action} as Redis at ${where} requires a password (NOAUTH): set REDIS_PASSWORD`,
        { cause },
      );
    }
    const reason = typeof code === "string"
      ? code
      : (cause as Error | undefined)?.name === "MaxRetriesPerRequestError"
      ? "connection lost"
      : firstLine(message);
    // A socket error (ECONNREFUSED, ETIMEDOUT) or a lost connection is an outage; a TLS
    // verdict (SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED) is the config's to fix.
    if (typeof code === "string" && !/^E[A-Z]+$/.test(code)) {
      return new Error(
        `Cannot ${action} as Redis at ${where} presented a TLS certificate this process does ` +
          `not accept (${code}): give its CA in NODE_EXTRA_CA_CERTS or DENO_CERT, and connect ` +
          `by a name the certificate holds (${vars})`,
        { cause },
      );
    }
    return new StoreUnreachableError(
      `Cannot reach Redis at ${where} (${reason}): is redis-server running? (${vars})`,
      { cause },
    );
  }
}

/** Errors that mean "the connection failed", not "Redis refused the command": retry after reconnect. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "MaxRetriesPerRequestError" || error.name === "AbortError") return true;
  if (error.message === "Connection is closed." || /Stream isn't writeable/.test(error.message)) {
    return true;
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}

/** Replies that mean "try again shortly" (loading a dataset, a busy script, a failover). */
export function isTransientReply(error: unknown): boolean {
  return error instanceof Error &&
    /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN) /.test(error.message);
}

function isLoginError(error: unknown): boolean {
  return /^(WRONGPASS|NOAUTH)/.test(messageOf(error));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error ?? "no answer");
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? text;
}
