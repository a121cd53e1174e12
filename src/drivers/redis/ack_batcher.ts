/**
 * Acks collected for `flushDelayMs` (or until the next reserve flushes them)
 * and sent as one ACK script call per queue (a ZREM per member inside),
 * instead of a round trip per job: isolated jobs finish one at a time, and
 * an ACK call each cost ~50 µs of daemon CPU per job (measured).
 * Each ack's promise settles once Redis answered for it. A call that failed
 * because the connection dropped is replayed after reconnecting (ZREM is
 * idempotent), so an ack is never forgotten while the queue is open.
 */
import type { Buffer } from "node:buffer";
import { later } from "../sqlite/ack_buffer.ts";
import { ACK } from "./scripts/settle.ts";
import type { RedisLink } from "./redis_link.ts";
import { retryUntilSettled } from "./retry_settle.ts";

/** Members per ACK call (bounds one script's run time). */
const MAX_MEMBERS_PER_CALL = 1000;

interface PendingAck {
  readonly member: Buffer;
  /** Resolves with whether this ack removed the member (false: the lease was lost). */
  readonly resolve: (removed: boolean) => void;
  readonly reject: (error: unknown) => void;
}

export class AckBatcher {
  readonly #link: RedisLink;
  readonly #onRetry: (error: unknown) => void;
  /** Per `:reserved` key. */
  #pending = new Map<string, PendingAck[]>();
  #cancelScheduled: (() => void) | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #flushDelayMs: number;

  constructor(link: RedisLink, flushDelayMs: number, onRetry: (error: unknown) => void) {
    this.#link = link;
    this.#flushDelayMs = flushDelayMs;
    this.#onRetry = onRetry;
  }

  /** Acks sent but not answered yet, plus those waiting for the next flush. */
  get pending(): number {
    let count = 0;
    for (const acks of this.#pending.values()) count += acks.length;
    return count + this.#inFlight.size;
  }

  /** Queues a ZREM of `member` from `reservedKey`; resolves true when it removed it. */
  add(reservedKey: string, member: Buffer): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let acks = this.#pending.get(reservedKey);
      if (acks === undefined) this.#pending.set(reservedKey, acks = []);
      acks.push({ member, resolve, reject });
      this.#cancelScheduled ??= later(this.#flushDelayMs, () => {
        this.#cancelScheduled = undefined;
        this.flush();
      });
    });
  }

  /** Sends everything queued so far (without waiting for answers). */
  flush(): void {
    this.#cancelScheduled?.();
    this.#cancelScheduled = undefined;
    if (this.#pending.size === 0) return;
    const batches = this.#pending;
    this.#pending = new Map();
    for (const [key, acks] of batches) {
      for (let i = 0; i < acks.length; i += MAX_MEMBERS_PER_CALL) {
        this.#send(key, acks.slice(i, i + MAX_MEMBERS_PER_CALL));
      }
    }
  }

  /** Flushes and resolves once every ack sent so far is answered (or failed for good). */
  async drain(): Promise<void> {
    this.flush();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #send(key: string, acks: readonly PendingAck[]): void {
    const members = acks.map((ack) => ack.member);
    const sent = retryUntilSettled(
      this.#link,
      "acknowledge jobs",
      () => ACK.run(this.#link.client, [key], members),
      this.#onRetry,
    ).then(
      (reply) => {
        const removed = reply as number[];
        acks.forEach((ack, i) => ack.resolve(removed[i] === 1));
      },
      (error) => acks.forEach((ack) => ack.reject(error)),
    );
    this.#inFlight.add(sent);
    sent.finally(() => this.#inFlight.delete(sent));
  }
}
