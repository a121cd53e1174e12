/**
 * Extends Redis reservations from the supervisor Worker, on a connection of
 * its own: one EXTEND script call per `:reserved` key (1,000 members at
 * most), all sent together. A call cut off by a dropped connection is sent
 * again once the connection is back, with the score computed afresh.
 */
import { Buffer } from "node:buffer";
import type { LeaseExtender } from "../driver.ts";
import type { RedisEndpoint } from "./redis_endpoint.ts";
import { RedisLink } from "./redis_link.ts";
import { retryUntilSettled } from "./retry_settle.ts";
import { EXTEND } from "./scripts/extend.ts";

export interface RedisLeaseConfig {
  readonly endpoint: RedisEndpoint;
  /** How long opening waits for the server. Milliseconds. */
  readonly connectTimeoutMs: number;
}

/** Members per EXTEND call (bounds one script's run time). */
const BATCH = 1000;

interface Held {
  readonly reservedKey: string;
  readonly member: Buffer;
}

export async function openLeaseExtender(config: unknown): Promise<LeaseExtender> {
  const { endpoint, connectTimeoutMs } = config as RedisLeaseConfig;
  const link = new RedisLink(endpoint, { name: "kqueue-leases", maxRetriesPerRequest: 1 });
  await link.open(connectTimeoutMs);
  return new RedisLeaseExtender(link);
}

class RedisLeaseExtender implements LeaseExtender {
  readonly #link: RedisLink;
  readonly #held = new Map<number, Held>();

  constructor(link: RedisLink) {
    this.#link = link;
  }

  get size(): number {
    return this.#held.size;
  }

  add(key: number, identity: unknown): void {
    const [reservedKey, member] = identity as [string, Uint8Array];
    this.#held.set(key, { reservedKey, member: Buffer.from(member) });
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

  async #extend(
    reservedKey: string,
    batch: ReadonlyArray<[number, Held]>,
    leaseSeconds: number,
  ): Promise<Array<[number, number]>> {
    const members = batch.map(([, held]) => held.member);
    let score = 0;
    const reply = await retryUntilSettled(this.#link, "extend leases", () => {
      // Whole seconds, as the reserve script and Laravel score: expires `leaseSeconds` from now.
      score = Math.floor(Date.now() / 1000) + leaseSeconds;
      return EXTEND.run(this.#link.client, [reservedKey], [score, ...members]);
    }) as number[];
    const extended: Array<[number, number]> = [];
    batch.forEach(([key], i) => {
      if (reply[i] === 1) extended.push([key, score]);
      else this.#held.delete(key); // gone: settled, or migrated back after a lapse
    });
    return extended;
  }

  close(): Promise<void> {
    this.#link.close();
    return Promise.resolve();
  }
}
