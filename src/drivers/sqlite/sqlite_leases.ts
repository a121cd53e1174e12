/**
 * Lease support of the SQLite queue: once a lease is set, KQueue's claims
 * treat `reserved_at <= now - lease` as expired (instead of retry_after), and
 * the supervisor Worker keeps `reserved_at` fresh for the jobs in flight
 * through `lease_extender.ts` on a connection of its own.
 *
 * `reserved_at` stays a start time, as Laravel's workers read it: each
 * reader judges it by its own `retry_after`, so a Laravel worker sharing
 * the table never takes a job KQueue keeps alive, as long as its
 * `retry_after` is longer than KQueue's renew interval plus a second.
 */
import type { ReservedJob } from "../driver.ts";
import { StoreLeases } from "../store_leases.ts";
import type { SqliteLeaseConfig } from "./lease_extender.ts";
import * as check from "./validate.ts";

const EXTENDER_URL = new URL("./lease_extender.ts", import.meta.url).href;

export class SqliteLeases extends StoreLeases<SqliteLeaseConfig> {
  constructor(retryAfter: number, config: SqliteLeaseConfig) {
    super(retryAfter, EXTENDER_URL, config);
  }

  /** [id, attempts, reservedAt]: what the extender's guarded UPDATE matches. */
  identityOf(job: ReservedJob): [number, number, number] {
    const [id, reservedAt, attempts] = check.reservationOf("extend a lease", job);
    return [id, attempts, reservedAt];
  }

  /** The row's new `reserved_at`: acks, releases and fails are guarded by it from now on. */
  extended(job: ReservedJob, reservedAt: number): void {
    // The job objects are this driver's own (made by claimJobs); only it moves them on.
    const own = job as { reservedAt: number };
    if (reservedAt > own.reservedAt) own.reservedAt = reservedAt;
  }
}
