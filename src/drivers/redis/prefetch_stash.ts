/**
 * Jobs the waiter reserved ahead. While a daemon waits, its BLPOP carries a
 * reserve right behind it on the same connection, so Redis runs the reserve
 * the moment a push ends the BLPOP and both answers come back together: the
 * jobs are here one round trip sooner than with a reserve sent after the
 * wake-up. `reserve()` hands them out first; `close()` requeues what is left.
 */
import type { ReservedJob } from "../driver.ts";
import type { Reservation } from "./reservation.ts";

export interface StashedJob {
  readonly job: ReservedJob;
  readonly reservation: Reservation;
}

export class PrefetchStash {
  #jobs: StashedJob[] = [];

  get size(): number {
    return this.#jobs.length;
  }

  /** Whether a job of `queues` is waiting. */
  has(queues: readonly string[]): boolean {
    return this.#jobs.some((entry) => queues.includes(entry.job.queue));
  }

  add(jobs: readonly StashedJob[]): void {
    this.#jobs.push(...jobs);
  }

  /**
   * Up to `limit` jobs of `queues`, in the order reserved. Jobs whose lease
   * has less than `minLeaseSeconds` left are returned as `stale` instead
   * (to requeue: running them would risk a second worker running them too).
   */
  take(
    queues: readonly string[],
    limit: number,
    nowSeconds: number,
    minLeaseSeconds: number,
  ): { jobs: StashedJob[]; stale: StashedJob[] } {
    const jobs: StashedJob[] = [];
    const stale: StashedJob[] = [];
    const kept: StashedJob[] = [];
    for (const entry of this.#jobs) {
      if (jobs.length >= limit || !queues.includes(entry.job.queue)) kept.push(entry);
      else if (entry.reservation.reserveUntil - nowSeconds < minLeaseSeconds) stale.push(entry);
      else jobs.push(entry);
    }
    this.#jobs = kept;
    return { jobs, stale };
  }

  /** Everything, emptying the stash. */
  takeAll(): StashedJob[] {
    const all = this.#jobs;
    this.#jobs = [];
    return all;
  }
}
