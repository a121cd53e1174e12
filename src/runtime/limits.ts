/** The limits in force for one job: the payload wins, then the class, then the CLI flag (as Laravel's worker). */
import type { JobConfig } from "../jobs/job_config.ts";
import type { RetryLimits } from "../outcome/retry_policy.ts";
import type { ParsedPayload } from "../payload/laravel_payload.ts";
import type { ResolvedDaemonOptions } from "./options.ts";

export interface AttemptLimits extends RetryLimits {
  /** Seconds; 0 = none. */
  readonly timeout: number;
}

export function resolveLimits(
  payload: ParsedPayload,
  config: JobConfig,
  defaults: Pick<ResolvedDaemonOptions, "tries" | "timeout" | "backoff">,
): AttemptLimits {
  const limits: Record<string, unknown> = {
    maxTries: payload.maxTries ?? config.tries ?? defaults.tries,
    backoff: payload.backoff ?? config.backoff ?? defaults.backoff,
    timeout: timeoutFor(payload, config, defaults.timeout),
    failOnTimeout: payload.failOnTimeout || config.failOnTimeout,
  };
  // Only the payload's: a class's retryUntil() is evaluated at dispatch and written there.
  const retryUntil = payload.retryUntil;
  if (retryUntil !== undefined) limits.retryUntil = retryUntil;
  const maxExceptions = payload.maxExceptions ?? config.maxExceptions;
  if (maxExceptions !== undefined) limits.maxExceptions = maxExceptions;
  return limits as unknown as AttemptLimits;
}

/** Longest delay a JavaScript timer can hold (2^31-1 ms, about 24.8 days); longer is "none". */
export const MAX_TIMER_SECONDS = 2_147_483;

/**
 * Laravel's order (payload, class, flag), with one guard for isolated jobs:
 * whoever can write the queue must not be able to lengthen or switch off the
 * kill of a sandboxed job, so its payload can only shorten the class's limit.
 */
function timeoutFor(payload: ParsedPayload, config: JobConfig, fallback: number): number {
  const own = config.timeout ?? fallback;
  const chosen = config.isolated && own > 0
    ? Math.min(payload.timeout || own, own)
    : payload.timeout ?? own;
  return chosen > MAX_TIMER_SECONDS ? 0 : chosen;
}
