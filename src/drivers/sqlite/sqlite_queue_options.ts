/** Options of `SqliteQueue`, and their checks. */
import type { LostReservation } from "../lost_reservations.ts";
import { DEFAULT_BUSY_DEADLINE_MS } from "./busy.ts";
import type { QueueTables } from "./queue_statements.ts";
import * as check from "./validate.ts";

export interface SqliteQueueOptions {
  /** The SQLite file. Created with Laravel's tables (and its folder) when missing. */
  readonly path: string;
  /**
   * Create missing tables even in an existing file: only for the explicit
   * `create-tables` command (never by default: it breaks a Laravel app's
   * next `php artisan migrate`). @default false
   */
  readonly createTables?: boolean;
  /** Laravel's queue connection name, written to `failed_jobs.connection`. @default "database" */
  readonly connectionName?: string;
  /** @default "jobs" */
  readonly table?: string;
  /** @default "failed_jobs" */
  readonly failedTable?: string;
  /** Laravel's `retry_after`: a reservation older than this is taken over. Seconds. @default 90 */
  readonly retryAfter?: number;
  /** The current time. Milliseconds since the epoch. @default () => Date.now() */
  readonly clock?: () => number;
  /** How often `waitForJobs` looks for other connections' commits. Milliseconds. @default 50 */
  readonly pollIntervalMs?: number;
  /** Give up on a locked file after this long. Milliseconds. @default 30000 */
  readonly busyDeadlineMs?: number;
  /**
   * How long an ack waits for others to share its delete, unless a reserve
   * comes first (the daemon's refills wait up to 2 ms, so the acks of jobs
   * finishing one at a time ride the next claim's transaction). 0: until the
   * end of the current macrotask. Milliseconds. @default 3
   */
  readonly ackFlushDelayMs?: number;
  /**
   * Called when an ack, release, requeue or fail found our reservation gone
   * (another worker took the job over after `retryAfter`): nothing was
   * changed. For logging; errors it throws are ignored. @default none
   */
  readonly onReservationLost?: (lost: LostReservation) => void;
}

export type { LostReservation };

export interface QueueSettings {
  readonly path: string;
  readonly createTables: boolean;
  readonly connectionName: string;
  readonly tables: QueueTables;
  readonly retryAfter: number;
  readonly clock: () => number;
  readonly pollIntervalMs: number;
  readonly busyDeadlineMs: number;
  readonly ackFlushDelayMs: number;
  readonly onReservationLost: ((lost: LostReservation) => void) | undefined;
}

/** Applies defaults and checks every option up front (TypeError / RangeError). */
export function resolveQueueOptions(options: SqliteQueueOptions): QueueSettings {
  const action = "open queue";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action} as 'options' must be an object: current value is ${options}`,
    );
  }
  const {
    path,
    createTables = false,
    connectionName = "database",
    table = "jobs",
    failedTable = "failed_jobs",
    retryAfter = 90,
    clock = () => Date.now(),
    pollIntervalMs = 50,
    busyDeadlineMs = DEFAULT_BUSY_DEADLINE_MS,
    ackFlushDelayMs = 3,
    onReservationLost,
  } = options;
  return {
    path: check.requireNonEmptyString(action, "path", path),
    createTables: check.requireBoolean(action, "createTables", createTables),
    connectionName: check.requireNonEmptyString(action, "connectionName", connectionName),
    tables: {
      jobs: check.requireTableName(action, "table", table),
      failedJobs: check.requireTableName(action, "failedTable", failedTable),
    },
    retryAfter: check.requirePositiveNumber(action, "retryAfter", retryAfter),
    clock: check.requireFunction(action, "clock", clock),
    pollIntervalMs: check.requirePositiveNumber(action, "pollIntervalMs", pollIntervalMs),
    busyDeadlineMs: check.requireDuration(action, "busyDeadlineMs", busyDeadlineMs),
    ackFlushDelayMs: check.requireNonNegativeNumber(action, "ackFlushDelayMs", ackFlushDelayMs),
    onReservationLost: onReservationLost === undefined
      ? undefined
      : check.requireFunction(action, "onReservationLost", onReservationLost),
  };
}
