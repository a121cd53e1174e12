/** The daemon's options: Laravel's `queue:work` flags plus KQueue's own, validated up front. */
import type { Clock } from "../clock.ts";
import type { ExceptionCounter, QueueDriver } from "../drivers/driver.ts";
import type { EventBus } from "../events.ts";
import type { ChildUser } from "../executor/child_user.ts";
import {
  type PoolOptions,
  type ResolvedPoolOptions,
  resolvePoolOptions,
} from "../executor/pool_options.ts";
import type { runIsolated } from "../executor/subprocess_executor.ts";
import type { JobRegistry } from "../jobs/registry.ts";

export interface DaemonOptions {
  readonly driver: QueueDriver;
  readonly registry: JobRegistry;
  /** Laravel's `maxExceptions` counters; without it `maxExceptions` is counted in memory. */
  readonly exceptions?: ExceptionCounter;
  /** Queues in priority order. @default ["default"] */
  readonly queues?: readonly string[];
  /** Jobs in flight at once (inline and isolated together). @default 10 */
  readonly concurrency?: number;
  /** Isolated jobs running at once, `handle()` or `failed()` (all job classes together). @default the number of CPUs */
  readonly isolatedConcurrency?: number;
  /** The pool of pre-started children isolated jobs run in (per job class). */
  readonly pool?: PoolOptions;
  /** Attempts when neither payload nor class says (0 = unlimited). @default 1 */
  readonly tries?: number;
  /** Seconds per attempt when neither payload nor class says (0 = none). @default 60 */
  readonly timeout?: number;
  /** Seconds before a retry when neither payload nor class says. @default [0] */
  readonly backoff?: readonly number[];
  /**
   * MB of heap (V8 heap + external buffers, as Laravel counts PHP's) past
   * which it stops taking jobs, drains and exits 12. @default 128
   */
  readonly memory?: number;
  /** Stop after this many jobs (0 = no limit). @default 0 */
  readonly maxJobs?: number;
  /** Stop after this many seconds (0 = no limit). @default 0 */
  readonly maxTime?: number;
  /**
   * Longest idle wait in seconds between checks for timed work (delays,
   * expired reservations); new jobs wake the daemon at once. Must be > 0. @default 3
   */
  readonly sleep?: number;
  /** Stop when no job is ready (delayed jobs ignored, as Laravel's flag). @default false */
  readonly stopWhenEmpty?: boolean;
  /** Stop when nothing is ready, delayed, reserved or running: waits for pending retries. @default false */
  readonly stopWhenDrained?: boolean;
  /** Run one job, then stop. @default false */
  readonly once?: boolean;
  /** Seconds in-flight jobs get to finish on shutdown before children are killed and jobs requeued. @default 25 */
  readonly shutdownTimeout?: number;
  /**
   * A well-formed payload naming a class with no KQueue job: `fail` it (with
   * the class named), or `leave` it for another kind of worker (a Laravel
   * worker sharing the queue): put back untouched, due again after
   * `unknownJobDelay`. @default "fail"
   */
  readonly unknownJobs?: "fail" | "leave";
  /** Seconds a left job waits before any worker may take it again. @default 10 */
  readonly unknownJobDelay?: number;
  /** Seconds the store may stay unreachable before the daemon gives up (exit 1). @default 60 */
  readonly storeTimeout?: number;
  /** Milliseconds of event-loop lag reported as blocked. @default 250 */
  readonly lagThresholdMs?: number;
  /**
   * Seconds a reservation lasts between extensions: the daemon extends it
   * from a supervisor Worker while the job is alive, so a long job never runs
   * twice and a dead daemon's jobs come back this soon. 0 turns extension off
   * (reservations last `retry_after`, as Laravel's). @default 15 (0 when the
   * driver cannot extend leases)
   */
  readonly lease?: number;
  /** Seconds between extensions. @default lease / 3 */
  readonly leaseRenew?: number;
  /**
   * Seconds the main thread may leave the supervisor unanswered (an inline
   * job blocking the event loop) before extension pauses, so a wedged
   * daemon's jobs go to another daemon. Must be below `lease`. @default 2 × leaseRenew
   */
  readonly livenessLimit?: number;
  /** Root against which isolated jobs' paths are resolved. @default Deno.cwd() */
  readonly projectRoot?: string;
  /**
   * Isolated jobs allowed the unscoped grants they declare (`"all"`, the path
   * `/`): the second opt-in, besides the job's own declaration. @default []
   */
  readonly allowUnscoped?: readonly string[];
  /** Run isolated children as this uid/gid (the daemon must be root). @default off */
  readonly childUser?: ChildUser;
  readonly clock?: Clock;
  readonly events?: EventBus;
  /** The subprocess executor (injectable for tests of the scheduler). */
  readonly runIsolated?: typeof runIsolated;
}

/** Lease options are resolved against the driver (lease_settings.ts). */
type LateOptions =
  | "exceptions"
  | "runIsolated"
  | "childUser"
  | "pool"
  | "lease"
  | "leaseRenew"
  | "livenessLimit";

export type ResolvedDaemonOptions = Required<Omit<DaemonOptions, LateOptions>> & {
  readonly exceptions?: ExceptionCounter;
  readonly runIsolated?: typeof runIsolated;
  readonly childUser?: ChildUser;
  readonly pool: ResolvedPoolOptions;
  readonly lease?: number;
  readonly leaseRenew?: number;
  readonly livenessLimit?: number;
};

export function resolveDaemonOptions(
  options: DaemonOptions,
  events: EventBus,
  clock: Clock,
): ResolvedDaemonOptions {
  const resolved = {
    queues: ["default"],
    concurrency: 10,
    isolatedConcurrency: Math.max(1, navigator.hardwareConcurrency || 2),
    tries: 1,
    timeout: 60,
    backoff: [0],
    memory: 128,
    maxJobs: 0,
    maxTime: 0,
    sleep: 3,
    stopWhenEmpty: false,
    stopWhenDrained: false,
    once: false,
    shutdownTimeout: 25,
    storeTimeout: 60,
    unknownJobs: "fail",
    unknownJobDelay: 10,
    lagThresholdMs: 250,
    projectRoot: Deno.cwd(),
    allowUnscoped: [],
    ...stripUndefined(options),
    events,
    clock,
  } as ResolvedDaemonOptions;
  positiveInteger("concurrency", resolved.concurrency);
  positiveInteger("isolatedConcurrency", resolved.isolatedConcurrency);
  nonNegative("tries", resolved.tries, true);
  nonNegative("timeout", resolved.timeout);
  nonNegative("memory", resolved.memory);
  nonNegative("maxJobs", resolved.maxJobs, true);
  nonNegative("maxTime", resolved.maxTime);
  positiveSleep(resolved.sleep);
  nonNegative("shutdownTimeout", resolved.shutdownTimeout);
  nonNegative("storeTimeout", resolved.storeTimeout);
  nonNegative("unknownJobDelay", resolved.unknownJobDelay);
  if (resolved.unknownJobs !== "fail" && resolved.unknownJobs !== "leave") {
    throw new TypeError(
      `Cannot start worker as 'unknownJobs' must be "fail" or "leave": current value is ${
        JSON.stringify(resolved.unknownJobs)
      }`,
    );
  }
  positiveInteger("lagThresholdMs", resolved.lagThresholdMs);
  if (
    resolved.queues.length === 0 || resolved.queues.some((q) => typeof q !== "string" || q === "")
  ) {
    throw new TypeError(
      `Cannot start worker as 'queues' must be non-empty names: current value is ${
        JSON.stringify(resolved.queues)
      }`,
    );
  }
  resolved.backoff.forEach((b, i) => nonNegative(`backoff[${i}]`, b));
  return { ...resolved, pool: resolvePoolOptions(options.pool, resolved.isolatedConcurrency) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot start worker as '${name}' must be a positive integer: current value is ${value}`,
    );
  }
}

/** `sleep` only bounds an idle wait (new jobs wake the daemon at once): 0 would mean never waiting. */
function positiveSleep(value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(
      `Cannot start worker as 'sleep' must be a positive number of seconds: current value is ${value} ` +
        `(it is only the longest idle wait, new jobs wake the daemon at once: use 3, the default, or 0.5)`,
    );
  }
}

function nonNegative(name: string, value: number, integer = false): void {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
    (integer && !Number.isInteger(value))
  ) {
    const kind = integer ? "a non-negative integer" : "a non-negative number";
    throw new RangeError(
      `Cannot start worker as '${name}' must be ${kind}: current value is ${value}`,
    );
  }
}
