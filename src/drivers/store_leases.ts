/**
 * What the stores' lease support shares (see `LeaseSupport`): the lease
 * length once set, falling back to `retry_after`, and where the supervisor
 * Worker finds the store's extender. Each store adds how a reservation is
 * identified and how its in-memory identity follows an extension.
 */
import type { LeaseSupport, ReservedJob } from "./driver.ts";
import * as check from "./sqlite/validate.ts";

export abstract class StoreLeases<Config> implements LeaseSupport {
  readonly retryAfter: number;
  readonly extender: { readonly moduleUrl: string; readonly config: Config };
  #lease = 0;

  constructor(retryAfter: number, extenderUrl: string, config: Config) {
    this.retryAfter = retryAfter;
    this.extender = { moduleUrl: extenderUrl, config };
  }

  /** How long a reservation lasts (database: how old it may get before a claim takes it). Seconds. */
  get reservationSeconds(): number {
    return this.#lease > 0 ? this.#lease : this.retryAfter;
  }

  useLease(seconds: number): void {
    this.#lease = check.requireNonNegativeNumber("use a lease", "seconds", seconds);
  }

  abstract identityOf(job: ReservedJob): unknown;
  abstract extended(job: ReservedJob, value: number): void;
}
