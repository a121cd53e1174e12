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
import type { LeaseSupport, ReservedJob } from "../driver.ts";
import type { SqliteLeaseConfig } from "./lease_extender.ts";
import * as check from "./validate.ts";

const EXTENDER_URL = new URL("./lease_extender.ts", import.meta.url).href;

export class SqliteLeases implements LeaseSupport {
  readonly retryAfter: number;
  readonly #config: SqliteLeaseConfig;
  #lease = 0;

  constructor(retryAfter: number, config: SqliteLeaseConfig) {
    this.retryAfter = retryAfter;
    this.#config = config;
  }

  /** How old a reservation may get before a claim takes it over. Seconds. */
  get reservationSeconds(): number {
    return this.#lease > 0 ? this.#lease : this.retryAfter;
  }

  useLease(seconds: number): void {
    this.#lease = check.requireNonNegativeNumber("use a lease", "seconds", seconds);
  }

  get extender(): { moduleUrl: string; config: SqliteLeaseConfig } {
    return { moduleUrl: EXTENDER_URL, config: this.#config };
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
