/**
 * The main thread's side of the lease mailbox: holds and drops in the order
 * they happen. What does not fit in the ring right now waits here, in order,
 * and the supervisor is asked (one message, not per record) to drain the
 * ring once it is half full or anything waits; its answer lets the rest in.
 * An identity that cannot go in the ring at all (not encodable, or larger
 * than a quarter of it) is refused: the caller sends that one as a message,
 * and must send its drop the same way, so each key stays in one channel.
 */
import { IdentityEncoder } from "./lease_identity.ts";
import { DROP, HOLD, LeaseMailbox, type RecordKind } from "./lease_mailbox.ts";

/** Ring size: ~2,000 Redis holds of 400-byte payloads between two drains. */
export const MAILBOX_BYTES = 1024 * 1024;

type Waiting = readonly [kind: RecordKind, key: number, body: Uint8Array | undefined];

export class LeaseOutbox {
  readonly mailbox: LeaseMailbox;
  readonly #askToDrain: () => void;
  readonly #maxBodyBytes: number;
  readonly #encoder = new IdentityEncoder();
  #waiting: Waiting[] = [];
  #asked = false;

  constructor(askToDrain: () => void, capacityBytes = MAILBOX_BYTES) {
    this.mailbox = LeaseMailbox.create(capacityBytes);
    this.#askToDrain = askToDrain;
    this.#maxBodyBytes = Math.floor(this.mailbox.capacity / 4);
  }

  /** Queues a hold; false when this identity must go as a message instead. */
  hold(key: number, identity: unknown): boolean {
    const body = this.#encoder.encode(identity);
    if (body === undefined || body.length > this.#maxBodyBytes) return false;
    this.#put(HOLD, key, body);
    return true;
  }

  drop(key: number): void {
    this.#put(DROP, key, undefined);
  }

  /** The supervisor drained the ring: what waited goes in now. */
  drained(): void {
    this.#asked = false;
    while (this.#waiting.length > 0) {
      const [kind, key, body] = this.#waiting[0]!;
      if (!this.mailbox.write(kind, key, body)) break;
      this.#waiting.shift();
    }
    this.#askIfNeeded();
  }

  #put(kind: RecordKind, key: number, body: Uint8Array | undefined): void {
    if (this.#waiting.length > 0 || !this.mailbox.write(kind, key, body)) {
      this.#waiting.push([kind, key, body?.slice()]); // the encoder's buffer is reused
    }
    this.#askIfNeeded();
  }

  #askIfNeeded(): void {
    if (this.#asked) return;
    if (this.#waiting.length === 0 && this.mailbox.used < this.mailbox.capacity / 2) return;
    this.#asked = true;
    this.#askToDrain();
  }
}
