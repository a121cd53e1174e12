/**
 * The one retry decision, shared by every path: from what an attempt came to,
 * and the job's limits, to ack / release after a delay / fail. Pure: no I/O,
 * no clock (the caller passes `nowSeconds`). Laravel 8.83's worker rules.
 */
import { LAST_DUE_TIME } from "../drivers/due_time.ts";
import { MaxAttemptsExceededError } from "../errors.ts";
import type { AttemptOutcome } from "../executor/outcome.ts";

/** The limits in force for one attempt (payload, then class, then CLI flag). */
export interface RetryLimits {
  /** Attempts allowed; 0 = unlimited. Ignored when `retryUntil` is set. */
  readonly maxTries: number;
  /** Unix seconds after which no retry happens. */
  readonly retryUntil?: number;
  /** Seconds per retry; entry `attempt - 1`, the last repeating. */
  readonly backoff: readonly number[];
  readonly failOnTimeout: boolean;
  readonly maxExceptions?: number;
}

export interface RetryInput {
  readonly limits: RetryLimits;
  /** This attempt's number (1 on the first run). */
  readonly attempt: number;
  readonly outcome: AttemptOutcome;
  /** The job's exception count including this one, when `maxExceptions` is counted. */
  readonly exceptionCount?: number;
  readonly nowSeconds: number;
}

export type RetryDecision =
  | { readonly action: "ack" }
  | { readonly action: "release"; readonly delaySeconds: number }
  | { readonly action: "fail"; readonly error: Error; readonly exhaustedExceptions?: boolean };

/** Outcomes that count as an exception for `tries` / `maxExceptions`. */
export function isExceptionOutcome(outcome: AttemptOutcome): boolean {
  return outcome.kind === "error" || outcome.kind === "timeout" || outcome.kind === "crashed" ||
    outcome.kind === "memory";
}

export function decide(input: RetryInput): RetryDecision {
  const { outcome, limits, attempt } = input;
  switch (outcome.kind) {
    case "success":
      return { action: "ack" };
    case "released":
      return release(outcome.delaySeconds, input.nowSeconds);
    case "failed":
    case "denied":
      // A denial is a declaration bug, not a transient error: retrying cannot help.
      return { action: "fail", error: outcome.error };
    case "error":
    case "timeout":
    case "crashed":
    case "memory": {
      if (
        limits.maxExceptions !== undefined && (input.exceptionCount ?? 0) >= limits.maxExceptions
      ) {
        return { action: "fail", error: outcome.error, exhaustedExceptions: true };
      }
      if (outcome.kind === "timeout" && limits.failOnTimeout) {
        return { action: "fail", error: outcome.error };
      }
      if (willExceedAttempts(limits, attempt, input.nowSeconds)) {
        return { action: "fail", error: outcome.error };
      }
      return release(backoffFor(limits.backoff, attempt), input.nowSeconds, outcome.error);
    }
  }
}

/**
 * A release, unless its retry would be due past LAST_DUE_TIME: no store can
 * hold that (Laravel's `available_at` is unsigned 32-bit), and a job parked
 * until 2106 is lost in all but name, so it fails, with why, where
 * `queue:failed` shows it.
 */
function release(delaySeconds: number, nowSeconds: number, cause?: Error): RetryDecision {
  if (nowSeconds + Math.ceil(delaySeconds) <= LAST_DUE_TIME) {
    return { action: "release", delaySeconds };
  }
  const error = new RangeError(
    `Cannot retry the job in ${delaySeconds} seconds: that is past unix time ${LAST_DUE_TIME} ` +
      `(2106-02-07 06:28:15 UTC), the latest available_at Laravel's jobs table holds, so it ` +
      `failed instead: use a shorter backoff or release() delay`,
    cause ? { cause } : undefined,
  );
  return { action: "fail", error };
}

/**
 * Laravel's check before running a job: past `retryUntil`, or more attempts
 * than `maxTries`, fails it without running (e.g. after a crash or timeout).
 */
export function checkBeforeRun(
  limits: RetryLimits,
  attempt: number,
  nowSeconds: number,
  name: string,
): MaxAttemptsExceededError | undefined {
  const over = limits.retryUntil !== undefined
    ? nowSeconds > limits.retryUntil
    : limits.maxTries > 0 && attempt > limits.maxTries;
  if (!over) return undefined;
  return new MaxAttemptsExceededError(
    `${name} has been attempted too many times or run too long. The job may have previously timed out.`,
  );
}

/** Seconds to wait before retry number `attempt` (1-based): entry attempt-1, else the last, else 0. */
export function backoffFor(backoff: readonly number[], attempt: number): number {
  if (backoff.length === 0) return 0;
  return backoff[attempt - 1] ?? backoff[backoff.length - 1] ?? 0;
}

function willExceedAttempts(limits: RetryLimits, attempt: number, nowSeconds: number): boolean {
  if (limits.retryUntil !== undefined) return limits.retryUntil <= nowSeconds;
  return limits.maxTries > 0 && attempt >= limits.maxTries;
}
