/**
 * Lease support of the Redis queue: once a lease is set, the reserve script
 * scores reservations `now + lease` (instead of retry_after), and the
 * supervisor Worker moves the scores of the jobs in flight on through
 * `lease_extender.ts`, on a connection of its own. The score stays an
 * absolute expiry time, so Laravel's workers (which migrate `:reserved`
 * members whose score has passed) judge KQueue's leases correctly.
 */
import type { LeaseSupport, ReservedJob } from "../driver.ts";
import * as check from "../sqlite/validate.ts";
import type { RedisLeaseConfig } from "./lease_extender.ts";
import { reservationOf } from "./reservation.ts";

const EXTENDER_URL = new URL("./lease_extender.ts", import.meta.url).href;

export class RedisLeases implements LeaseSupport {
  readonly retryAfter: number;
  readonly #config: RedisLeaseConfig;
  #lease = 0;

  constructor(retryAfter: number, config: RedisLeaseConfig) {
    this.retryAfter = retryAfter;
    this.#config = config;
  }

  /** How long a reservation lasts when it is made. Seconds. */
  get reservationSeconds(): number {
    return this.#lease > 0 ? this.#lease : this.retryAfter;
  }

  useLease(seconds: number): void {
    this.#lease = check.requireNonNegativeNumber("use a lease", "seconds", seconds);
  }

  get extender(): { moduleUrl: string; config: RedisLeaseConfig } {
    return { moduleUrl: EXTENDER_URL, config: this.#config };
  }

  /** [`:reserved` key, the exact member bytes]. */
  identityOf(job: ReservedJob): [string, Uint8Array] {
    const reservation = reservationOf("extend a lease", job);
    // An exact copy: a Buffer is often a view into a large socket buffer, which
    // postMessage would copy whole.
    return [reservation.keys.reserved, new Uint8Array(reservation.member)];
  }

  /** The member is unchanged; its score (kept for a restore after a failed fail) moves on. */
  extended(job: ReservedJob, score: number): void {
    const reservation = reservationOf("extend a lease", job);
    if (score > reservation.reserveUntil) reservation.reserveUntil = score;
  }
}
