/**
 * Acks waiting to be deleted in one batch. Each ack's promise settles only
 * after the transaction that deleted its row committed.
 */
import { clearImmediate, setImmediate } from "node:timers";
import type { ReservedJob } from "../driver.ts";

/** The guard of a reservation: [id, reserved_at, attempts]. */
export type Reservation = readonly [id: number, reservedAt: number, attempts: number];

export interface PendingAck {
  readonly job: ReservedJob;
  readonly reservation: Reservation;
  /** With whether the delete found the reservation (false: it was lost). */
  readonly resolve: (deleted: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** A batch taken from the buffer; settle it once its transaction ended. */
export class AckBatch {
  constructor(readonly acks: readonly PendingAck[]) {}

  get size(): number {
    return this.acks.length;
  }

  /** Bind value for `deleteReservations`: `[[id, reservedAt, attempts], …]`. */
  toJson(): string {
    return JSON.stringify(this.acks.map((ack) => ack.reservation));
  }

  /** Resolves every ack; returns the jobs whose reservation had been lost (nothing deleted). */
  resolve(deletedIds: ReadonlySet<number>): ReservedJob[] {
    const lost: ReservedJob[] = [];
    for (const ack of this.acks) {
      const deleted = deletedIds.has(ack.reservation[0]);
      if (!deleted) lost.push(ack.job);
      ack.resolve(deleted);
    }
    return lost;
  }

  reject(error: unknown): void {
    for (const ack of this.acks) ack.reject(error);
  }
}

export class AckBuffer {
  #pending: PendingAck[] = [];

  get size(): number {
    return this.#pending.length;
  }

  /** Resolves true once deleted, false when the reservation was lost (nothing deleted). */
  add(job: ReservedJob, reservation: Reservation): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ job, reservation, resolve, reject });
    });
  }

  /** Takes everything buffered so far. */
  take(): AckBatch {
    const batch = new AckBatch(this.#pending);
    this.#pending = [];
    return batch;
  }

  /** Puts back a batch whose transaction did not commit, to go with the next flush. */
  putBack(batch: AckBatch): void {
    this.#pending = [...batch.acks, ...this.#pending];
  }
}

/**
 * Runs `callback` after `delayMs`; 0 means at the end of this macrotask
 * (setImmediate: ~3 µs here, where setTimeout(0) waits ~2 ms, which would
 * add that much latency to every ack). Returns a cancel function.
 */
export function later(delayMs: number, callback: () => void): () => void {
  if (delayMs === 0) {
    const handle = setImmediate(callback);
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(callback, delayMs);
  return () => clearTimeout(handle);
}
