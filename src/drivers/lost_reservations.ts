/**
 * Settles (ack, release, requeue, fail) that found their reservation taken
 * over by another worker, in either driver: counted, and told to the
 * queue's `onReservationLost` hook, which must never break storage work.
 */
import type { ReservedJob } from "./driver.ts";

export interface LostReservation {
  readonly operation: "ack" | "release" | "requeue" | "fail";
  readonly job: ReservedJob;
}

export class LostReservations {
  readonly #listener: ((lost: LostReservation) => void) | undefined;
  #count = 0;

  constructor(listener: ((lost: LostReservation) => void) | undefined) {
    this.#listener = listener;
  }

  get count(): number {
    return this.#count;
  }

  report(operation: LostReservation["operation"], jobs: readonly ReservedJob[]): void {
    this.#count += jobs.length;
    if (this.#listener === undefined) return;
    for (const job of jobs) {
      try {
        this.#listener({ operation, job });
      } catch {
        // A logging hook must never break storage work.
      }
    }
  }
}
