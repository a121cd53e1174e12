/** Options of `RedisQueue`, and their checks. */
import type { FailedJobLogger, PushOptions } from "../driver.ts";
import type { LostReservation } from "../lost_reservations.ts";
import * as check from "../sqlite/validate.ts";
import type { RedisEndpoint } from "./redis_endpoint.ts";

export interface RedisQueueOptions {
  /** The Redis server. @default 127.0.0.1:6379, database 0, no TLS */
  readonly endpoint?: Partial<RedisEndpoint>;
  /**
   * Put before every key, as the Laravel connection's `options.prefix`
   * (`REDIS_PREFIX`; a stock Laravel app uses `laravel_database_`). @default ""
   */
  readonly prefix?: string;
  /** Laravel's queue connection name, written to `failed_jobs.connection`. @default "redis" */
  readonly connectionName?: string;
  /** Laravel's `retry_after`: how long a reservation lasts. Seconds. @default 90 */
  readonly retryAfter?: number;
  /** Writes the `failed_jobs` rows (Laravel keeps Redis queues' failed jobs in the database). */
  readonly failedJobLogger: FailedJobLogger;
  /** The current time. Milliseconds since the epoch. @default () => Date.now() */
  readonly clock?: () => number;
  /** The most members one reserve moves from each `:delayed` / `:reserved` zset. @default 1000 */
  readonly migrateBatchSize?: number;
  /** Longest single BLPOP in `waitForJobs` (due times are re-read after each). Milliseconds. @default 1000 */
  readonly blockSliceMs?: number;
  /** How long `open` waits for the server. Milliseconds. @default 3000 */
  readonly connectTimeoutMs?: number;
  /** How long `close` waits for unanswered acks, releases and fails. Milliseconds. @default 10000 */
  readonly closeTimeoutMs?: number;
  /**
   * How long an ack waits for others to share its ACK call, unless a reserve
   * comes first (then they are sent together). 0: until the end of the
   * current macrotask. Milliseconds. @default 2
   */
  readonly ackFlushDelayMs?: number;
  /**
   * Called when an ack, release, requeue or fail found the reservation gone
   * (the lease expired and another worker has the job): nothing was changed.
   * For logging; errors it throws are ignored. @default none
   */
  readonly onReservationLost?: (lost: RedisLostReservation) => void;
}

/** A settle that found its reservation taken over (see LostReservations). */
export type RedisLostReservation = LostReservation;

export interface RedisQueueSettings {
  readonly endpoint: RedisEndpoint;
  readonly prefix: string;
  readonly connectionName: string;
  readonly retryAfter: number;
  readonly failedJobLogger: FailedJobLogger;
  readonly clock: () => number;
  readonly migrateBatchSize: number;
  readonly blockSliceMs: number;
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly ackFlushDelayMs: number;
  readonly onReservationLost: ((lost: RedisLostReservation) => void) | undefined;
}

/** Applies defaults and checks every option up front (TypeError / RangeError). */
export function resolveRedisQueueOptions(options: RedisQueueOptions): RedisQueueSettings {
  const action = "open queue";
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot ${action} as 'options' must be an object: current value is ${options}`,
    );
  }
  const {
    endpoint = {},
    prefix = "",
    connectionName = "redis",
    retryAfter = 90,
    failedJobLogger,
    clock = () => Date.now(),
    migrateBatchSize = 1000,
    blockSliceMs = 1000,
    connectTimeoutMs = 3000,
    closeTimeoutMs = 10_000,
    ackFlushDelayMs = 2,
    onReservationLost,
  } = options;
  if (
    failedJobLogger === null || typeof failedJobLogger !== "object" ||
    typeof failedJobLogger.log !== "function"
  ) {
    throw new TypeError(
      `Cannot ${action} as 'failedJobLogger' must be a FailedJobLogger (an object with log()): ` +
        `current value is ${failedJobLogger === null ? "null" : typeof failedJobLogger}`,
    );
  }
  const port = endpoint.port ?? 6379;
  const db = endpoint.db ?? 0;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(
      `Cannot ${action} as 'endpoint.port' must be a port number: current value is ${port}`,
    );
  }
  if (!Number.isInteger(db) || db < 0) {
    throw new RangeError(
      `Cannot ${action} as 'endpoint.db' must be a database index: current value is ${db}`,
    );
  }
  return {
    endpoint: {
      ...endpoint,
      host: check.requireNonEmptyString(action, "endpoint.host", endpoint.host ?? "127.0.0.1"),
      port,
      db,
      tls: endpoint.tls ?? false,
    },
    prefix: check.requireString(action, "prefix", prefix),
    connectionName: check.requireNonEmptyString(action, "connectionName", connectionName),
    retryAfter: check.requirePositiveNumber(action, "retryAfter", retryAfter),
    failedJobLogger,
    clock: check.requireFunction(action, "clock", clock),
    migrateBatchSize: check.requirePositiveInteger(action, "migrateBatchSize", migrateBatchSize),
    blockSliceMs: check.requirePositiveNumber(action, "blockSliceMs", blockSliceMs),
    connectTimeoutMs: check.requirePositiveNumber(action, "connectTimeoutMs", connectTimeoutMs),
    closeTimeoutMs: check.requireNonNegativeNumber(action, "closeTimeoutMs", closeTimeoutMs),
    ackFlushDelayMs: check.requireNonNegativeNumber(action, "ackFlushDelayMs", ackFlushDelayMs),
    onReservationLost: onReservationLost === undefined
      ? undefined
      : check.requireFunction(action, "onReservationLost", onReservationLost),
  };
}

/** Checks push arguments; returns the delay in seconds. */
export function checkPush(
  action: string,
  queue: unknown,
  payloads: unknown,
  options: PushOptions | undefined,
): number {
  check.requireNonEmptyString(action, "queue", queue);
  if (!Array.isArray(payloads)) {
    throw new TypeError(`Cannot ${action} as 'payloads' must be an array of strings`);
  }
  for (const payload of payloads) check.requireString(action, "payload", payload);
  return check.requireNonNegativeNumber(action, "delay", options?.delay ?? 0);
}

/** Checks a fail call's failure record. */
export function checkFailure(
  action: string,
  failure: { uuid: string; exception: string; payload?: string } | undefined,
): void {
  check.requireNonEmptyString(action, "uuid", failure?.uuid);
  check.requireString(action, "exception", failure!.exception);
  if (failure!.payload !== undefined) check.requireString(action, "payload", failure!.payload);
}

/** `RedisQueue.stats`: counters for logs and tests. */
export interface RedisQueueStats {
  readonly lostReservations: number;
  readonly replays: number;
  readonly reconnects: number;
  readonly blockingReconnects: number;
}
