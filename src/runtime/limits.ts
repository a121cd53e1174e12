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
    timeout: payload.timeout ?? config.timeout ?? defaults.timeout,
    failOnTimeout: payload.failOnTimeout || config.failOnTimeout,
  };
  // Only the payload's: a class's retryUntil() is evaluated at dispatch and written there.
  const retryUntil = payload.retryUntil;
  if (retryUntil !== undefined) limits.retryUntil = retryUntil;
  const maxExceptions = payload.maxExceptions ?? config.maxExceptions;
  if (maxExceptions !== undefined) limits.maxExceptions = maxExceptions;
  return limits as unknown as AttemptLimits;
}
