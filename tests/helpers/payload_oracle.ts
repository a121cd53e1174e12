/**
 * The payload fuzz's oracle: what the daemon must do with a payload, computed
 * with the daemon's own decoding steps (parse → pick the class → limits →
 * hydrate). Only PayloadError (and an exhausted attempt) may come out of them:
 * any other error is a crash, and fails the test.
 */
import { PayloadError } from "../../src/errors.ts";
import { discoverJobs } from "../../src/jobs/discover.ts";
import { hydrateJob } from "../../src/jobs/hydrate.ts";
import type { JobRegistry } from "../../src/jobs/registry.ts";
import { checkBeforeRun } from "../../src/outcome/retry_policy.ts";
import { CALL_QUEUED_HANDLER, parsePayload } from "../../src/payload/laravel_payload.ts";
import { unknownJobError } from "../../src/runtime/job_failure.ts";
import { resolveLimits } from "../../src/runtime/limits.ts";
import type { ProcessorDeps } from "../../src/runtime/processor_deps.ts";

export const FUZZ_JOBS = new URL("../fixtures/fuzz_jobs", import.meta.url).pathname;

export type Prediction =
  | { readonly good: true; readonly uuid?: string; readonly isolated: boolean }
  | { readonly good: false; readonly uuid?: string; readonly reason: string };

export function fuzzRegistry(): Promise<JobRegistry> {
  return discoverJobs(FUZZ_JOBS);
}

/**
 * What the daemon must do with `text` on its first reservation (default flags:
 * --tries=1 --timeout=60). `attemptOf` gives the attempt that reservation counts
 * (1 on SQLite; on Redis, the payload's own `attempts` + 1).
 */
export function predict(
  text: string,
  registry: JobRegistry,
  nowSeconds: number,
  attemptOf: (payload: Record<string, unknown>) => number = () => 1,
): Prediction {
  const bad = (error: unknown, uuid?: string): Prediction => {
    if (!(error instanceof PayloadError) && !isAttemptsError(error)) throw error;
    return { good: false, reason: (error as Error).message, ...(uuid ? { uuid } : {}) };
  };
  let payload;
  try {
    payload = parsePayload(text);
  } catch (error) {
    return bad(error);
  }
  const uuid = payload.uuid;
  const entry = payload.job === CALL_QUEUED_HANDLER
    ? (payload.commandName ? registry.get(payload.commandName) : undefined) ??
      (payload.displayName ? registry.get(payload.displayName) : undefined)
    : undefined;
  if (!entry) return bad(unknownJobError(payload, { registry } as ProcessorDeps), uuid);
  const limits = resolveLimits(payload, entry.config, { tries: 1, timeout: 60, backoff: [0] });
  const tooLate = checkBeforeRun(limits, attemptOf(payload.raw), nowSeconds, entry.name);
  if (tooLate) return bad(tooLate, uuid);
  try {
    hydrateJob(entry.Class, payload.command, entry.name);
  } catch (error) {
    return bad(error, uuid);
  }
  return { good: true, isolated: entry.config.isolated, ...(uuid ? { uuid } : {}) };
}

function isAttemptsError(error: unknown): boolean {
  return error instanceof Error && error.name === "MaxAttemptsExceededError";
}
