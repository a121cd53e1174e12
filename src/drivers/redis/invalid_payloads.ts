/**
 * Payloads that are JSON objects but carry no numeric `attempts`: Laravel's
 * pop script errors after its LPOP on them and the job is lost. The reserve
 * script moves them unchanged to `:reserved` instead, and they are failed
 * here, with a reason, rather than run: the runtime would run them, and
 * their reserved copy could never count a retry (tries would never run out).
 * (Text that is not a JSON object goes to the runtime, whose payload check
 * fails it with the reason.)
 */
import { formatException, PayloadError } from "../../errors.ts";
import type { ReservedJob } from "../driver.ts";
import type { InvalidPayload } from "./redis_queue_options.ts";
import type { DecodedReservation } from "./reservation.ts";

type Fail = (job: ReservedJob, failure: { uuid: string; exception: string }) => Promise<boolean>;

export const NO_ATTEMPTS_REASON =
  `Redis payload has no numeric "attempts" (Laravel's Redis pop script would lose it): ` +
  `push Redis payloads with "attempts":0, as RedisQueue.push and Laravel's dispatch do`;

/** The other way a JSON object is malformed for Redis: its cjson cannot decode it at all. */
export const CJSON_REASON =
  `Redis payload cannot be decoded by Redis' cjson (a \\u escape of a lone surrogate, or ` +
  `nesting past its depth limit), so Laravel's Redis pop script would lose it`;

/** Whether the runtime must not get this job: malformed, yet a JSON object (it would run). */
export function isUncountable(reserved: DecodedReservation): boolean {
  if (!reserved.reservation.malformed) return false;
  try {
    const value = JSON.parse(reserved.job.rawPayload);
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** Fails each one (its own uuid when it has one); never rejects. */
export async function failInvalidPayloads(
  invalid: readonly DecodedReservation[],
  fail: Fail,
  hooks: { readonly onInvalidPayload: ((invalid: InvalidPayload) => void) | undefined },
): Promise<void> {
  await Promise.all(invalid.map(async ({ job }) => {
    const reason = hasNumericAttempts(job.rawPayload) ? CJSON_REASON : NO_ATTEMPTS_REASON;
    const report: { queue: string; payload: string; reason: string; error?: Error } = {
      queue: job.queue,
      payload: job.rawPayload,
      reason,
    };
    try {
      await fail(job, {
        uuid: uuidOf(job.rawPayload) ?? crypto.randomUUID(),
        exception: formatException(new PayloadError(reason)),
      });
    } catch (error) {
      report.error = error as Error;
    }
    try {
      hooks.onInvalidPayload?.(report);
    } catch {
      // A logging hook must never break storage work.
    }
  }));
}

function hasNumericAttempts(text: string): boolean {
  const attempts = (JSON.parse(text) as { attempts?: unknown }).attempts;
  return typeof attempts === "number" && Number.isFinite(attempts);
}

function uuidOf(text: string): string | undefined {
  const uuid = (JSON.parse(text) as { uuid?: unknown }).uuid;
  return typeof uuid === "string" && uuid !== "" ? uuid : undefined;
}
