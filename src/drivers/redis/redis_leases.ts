/**
 * Lease support of the Redis queue: once a lease is set, the reserve script
 * scores reservations `now + lease` (instead of retry_after), and the
 * supervisor Worker moves the scores of the jobs in flight on through
 * `lease_extender.ts`, on a connection of its own. The score stays an
 * absolute expiry time, so Laravel's workers (which migrate `:reserved`
 * members whose score has passed) judge KQueue's leases correctly.
 */
import type { ReservedJob } from "../driver.ts";
import { StoreLeases } from "../store_leases.ts";
import type { RedisLeaseConfig } from "./lease_extender.ts";
import { reservationOf } from "./reservation.ts";

const EXTENDER_URL = new URL("./lease_extender.ts", import.meta.url).href;

export class RedisLeases extends StoreLeases<RedisLeaseConfig> {
  constructor(retryAfter: number, config: RedisLeaseConfig) {
    super(retryAfter, EXTENDER_URL, config);
  }

  /** [`:reserved` key, the exact member bytes]. */
  identityOf(job: ReservedJob): [string, Uint8Array] {
    const reservation = reservationOf("extend a lease", job);
    // The member itself, often a view into a larger socket buffer: the mailbox copies the
    // bytes, and an identity sent as a message is copied first (see LeaseKeeper).
    return [reservation.keys.reserved, reservation.member];
  }

  /** The member is unchanged; its score (kept for a restore after a failed fail) moves on. */
  extended(job: ReservedJob, score: number): void {
    const reservation = reservationOf("extend a lease", job);
    if (score > reservation.reserveUntil) reservation.reserveUntil = score;
  }
}
