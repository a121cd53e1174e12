/**
 * Extends Redis reservations from the supervisor Worker, on a connection of
 * its own (`RespConnection`: ioredis would cost this isolate ~16 MB more):
 * one EXTEND script call per `:reserved` key (1,000 members at most), all
 * pipelined. A call cut off by a dropped connection is sent again on a new
 * connection once Redis answers, with the score computed afresh.
 */
import type { LeaseExtender } from "../driver.ts";
import type { RedisEndpoint } from "./redis_endpoint.ts";
import {
  type RespArgument,
  RespConnection,
  RespConnectionError,
  RespReplyError,
} from "./resp_connection.ts";
import { EXTEND_SOURCE } from "./scripts/extend.ts";

export interface RedisLeaseConfig {
  readonly endpoint: RedisEndpoint;
  /** How long opening waits for the server. Milliseconds. */
  readonly connectTimeoutMs: number;
}

/** Members per EXTEND call (bounds one script's run time). */
const BATCH = 1000;
const CLIENT_NAME = "kqueue-leases";

interface Held {
  readonly reservedKey: string;
  readonly member: Uint8Array;
}

export async function openLeaseExtender(config: unknown): Promise<LeaseExtender> {
  const { endpoint, connectTimeoutMs } = config as RedisLeaseConfig;
  const connection = await RespConnection.open(endpoint, CLIENT_NAME, connectTimeoutMs);
  const sha = await sha1Hex(EXTEND_SOURCE);
  return new RedisLeaseExtender(config as RedisLeaseConfig, connection, sha);
}

class RedisLeaseExtender implements LeaseExtender {
  readonly #config: RedisLeaseConfig;
  readonly #sha: string;
  readonly #held = new Map<number, Held>();
  #connection: RespConnection;
  #closed = false;

  constructor(config: RedisLeaseConfig, connection: RespConnection, sha: string) {
    this.#config = config;
    this.#connection = connection;
    this.#sha = sha;
  }

  get size(): number {
    return this.#held.size;
  }

  add(key: number, identity: unknown): void {
    const [reservedKey, member] = identity as [string, Uint8Array];
    this.#held.set(key, { reservedKey, member });
  }

  remove(key: number): void {
    this.#held.delete(key);
  }

  async extendAll(leaseSeconds: number): Promise<Array<[number, number]>> {
    const byKey = new Map<string, Array<[number, Held]>>();
    for (const entry of this.#held) {
      let group = byKey.get(entry[1].reservedKey);
      if (group === undefined) byKey.set(entry[1].reservedKey, group = []);
      group.push(entry);
    }
    const calls: Promise<Array<[number, number]>>[] = [];
    for (const [reservedKey, group] of byKey) {
      for (let i = 0; i < group.length; i += BATCH) {
        calls.push(this.#extend(reservedKey, group.slice(i, i + BATCH), leaseSeconds));
      }
    }
    return (await Promise.all(calls)).flat();
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#connection.close();
    return Promise.resolve();
  }

  async #extend(
    reservedKey: string,
    batch: ReadonlyArray<[number, Held]>,
    leaseSeconds: number,
  ): Promise<Array<[number, number]>> {
    const members = batch.map(([, held]) => held.member);
    const { reply, score } = await this.#untilAnswered(async (connection) => {
      // Whole seconds, as the reserve script and Laravel score: expires `leaseSeconds` from now.
      const score = Math.floor(Date.now() / 1000) + leaseSeconds;
      return { reply: await this.#evalExtend(connection, reservedKey, [score, ...members]), score };
    });
    const extended: Array<[number, number]> = [];
    batch.forEach(([key], i) => {
      if (reply[i] === 1) extended.push([key, score]);
      else this.#held.delete(key); // gone: settled, or migrated back after a lapse
    });
    return extended;
  }

  /** EVALSHA, falling back to EVAL once per server start (NOSCRIPT). */
  async #evalExtend(
    connection: RespConnection,
    reservedKey: string,
    args: RespArgument[],
  ): Promise<number[]> {
    try {
      try {
        return await connection.command([
          "EVALSHA",
          this.#sha,
          1,
          reservedKey,
          ...args,
        ]) as number[];
      } catch (error) {
        if (!(error instanceof RespReplyError) || !error.message.startsWith("NOSCRIPT")) {
          throw error;
        }
        return await connection.command([
          "EVAL",
          EXTEND_SOURCE,
          1,
          reservedKey,
          ...args,
        ]) as number[];
      }
    } catch (error) {
      if (!(error instanceof RespReplyError) || !/\bWRONGTYPE\b/.test(error.message)) throw error;
      // Name the key, its type and the fix, as a reserve meeting it does.
      const type = await connection.command(["TYPE", reservedKey]).catch(() => "another type");
      throw new RespReplyError(
        `Cannot extend leases as Redis key ${reservedKey} is a ${
          typeof type === "string" ? type : "another type"
        }, not a zset: delete or rename the key`,
      );
    }
  }

  /** Runs `call`, reconnecting (with backoff) and running it again while the connection fails. */
  async #untilAnswered<T>(call: (connection: RespConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1;; attempt++) {
      try {
        if (this.#connection.closed) {
          const { endpoint, connectTimeoutMs } = this.#config;
          this.#connection = await RespConnection.open(endpoint, CLIENT_NAME, connectTimeoutMs);
        }
        return await call(this.#connection);
      } catch (error) {
        if (!(error instanceof RespConnectionError) || this.#closed) throw error;
        const stepMs = Math.min(2000, 50 * 2 ** Math.min(attempt - 1, 6));
        await new Promise((resolve) => setTimeout(resolve, stepMs * (0.75 + Math.random() * 0.5)));
      }
    }
  }
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
