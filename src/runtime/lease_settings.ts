/**
 * The daemon's lease settings, and the start-up refusals of configurations
 * that guarantee a job runs twice at once or comes back too late to matter.
 * Every refusal is one line naming the flags to change (the CLI flag, which
 * maps to the same-named option: `--lease-renew` is `leaseRenew`).
 */
import type { QueueDriver } from "../drivers/driver.ts";
import type { JobRegistry } from "../jobs/registry.ts";
import type { LeaseTiming } from "./lease_protocol.ts";
import { MAX_TIMER_SECONDS } from "./limits.ts";

/** Seconds a reservation lasts between extensions when nothing says otherwise (see README "Liveness"). */
export const DEFAULT_LEASE_SECONDS = 15;
/**
 * The stores keep whole seconds (`reserved_at`, the `:reserved` score), so a
 * lease renewed at 12.9 s counts from 12 s: up to this much of it is lost.
 */
const CLOCK_ROUNDING_SECONDS = 1;

export interface LeaseOptions {
  /** @default 15 when the driver supports leases, else 0 (off) */
  readonly lease?: number;
  /** @default lease / 3 */
  readonly leaseRenew?: number;
  /** @default 2 × leaseRenew */
  readonly livenessLimit?: number;
  /** The daemon's default per-attempt timeout (seconds; 0 = none). */
  readonly timeout: number;
}

/** Resolved: `undefined` when lease extension is off (reservations last retry_after, as Laravel). */
export function resolveLeaseTiming(
  options: LeaseOptions,
  driver: QueueDriver,
  registry: JobRegistry,
): LeaseTiming | undefined {
  const support = driver.leases;
  const lease = options.lease ?? (support ? DEFAULT_LEASE_SECONDS : 0);
  nonNegative("--lease", lease);
  if (lease === 0) {
    if (support) refuseTimeoutsPastRetryAfter(options.timeout, support.retryAfter, registry);
    return undefined;
  }
  if (!support) {
    throw new RangeError(
      `Cannot start worker as --lease=${lease} needs a store another connection can reach ` +
        `(this driver, e.g. an in-memory SQLite database, cannot extend leases): use --lease=0`,
    );
  }
  const renew = options.leaseRenew ?? round3(lease / 3);
  positive("--lease-renew", renew);
  const liveness = options.livenessLimit ?? round3(2 * renew);
  positive("--liveness-limit", liveness);
  if (2 * renew + CLOCK_ROUNDING_SECONDS > lease) {
    throw new RangeError(
      `Cannot start worker as --lease=${lease} does not outlast two renewals ` +
        `(--lease-renew=${renew}) plus the store's 1 s clock: one late renewal would hand ` +
        `running jobs to another worker; raise --lease or lower --lease-renew`,
    );
  }
  if (liveness >= lease) {
    throw new RangeError(
      `Cannot start worker as --liveness-limit=${liveness} is not below --lease=${lease}: a ` +
        `daemon whose main thread is stuck would keep its jobs from other workers for more ` +
        `than two leases; lower --liveness-limit or raise --lease`,
    );
  }
  return { leaseSeconds: lease, renewMs: renew * 1000, livenessMs: liveness * 1000 };
}

/**
 * Without extension a reservation lasts retry_after: a job still running
 * then is handed to a second worker (Laravel's rule: retry_after must be
 * longer than every timeout). A class's own timeout wins over the flag.
 */
function refuseTimeoutsPastRetryAfter(
  defaultTimeout: number,
  retryAfter: number,
  registry: JobRegistry,
): void {
  const cure = `set --lease=${DEFAULT_LEASE_SECONDS} (extension on), or keep every timeout ` +
    `below --retry-after`;
  const jobs = registry.list();
  const usesDefault = jobs.filter((job) => job.config.timeout === undefined).map((j) => j.name);
  if (usesDefault.length > 0 && !bounded(defaultTimeout, retryAfter)) {
    throw new RangeError(
      `Cannot start worker as lease extension is off (--lease=0) and --timeout=${defaultTimeout}` +
        `${defaultTimeout === 0 ? " (none)" : ""} is not below --retry-after=${retryAfter} ` +
        `(used by ${listNames(usesDefault)}): a job still running at retry_after is handed to ` +
        `a second worker; ${cure}`,
    );
  }
  for (const job of jobs) {
    const timeout = job.config.timeout;
    if (timeout === undefined || bounded(timeout, retryAfter)) continue;
    throw new RangeError(
      `Cannot start worker as lease extension is off (--lease=0) and ${job.name}'s timeout = ` +
        `${timeout}${timeout === 0 ? " (none)" : ""} is not below --retry-after=${retryAfter}: ` +
        `a job still running at retry_after is handed to a second worker; ${cure}`,
    );
  }
}

/** A timeout that ends the attempt before retry_after (0, or past what a timer holds, is none). */
function bounded(timeout: number, retryAfter: number): boolean {
  return timeout > 0 && timeout <= MAX_TIMER_SECONDS && timeout < retryAfter;
}

function listNames(names: readonly string[]): string {
  return names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} and others`;
}

function round3(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function nonNegative(flag: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot start worker as ${flag} must be a non-negative number of seconds: current value is ${value}`,
    );
  }
}

function positive(flag: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot start worker as ${flag} must be a positive number of seconds: current value is ${value}`,
    );
  }
}
