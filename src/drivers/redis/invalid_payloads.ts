/**
 * Payloads that are JSON objects but carry no numeric `attempts`: Laravel's
 * pop script errors after its LPOP on them and the job is lost. The reserve
 * script moves them unchanged to `:reserved` instead, and they reach the
 * runtime marked `invalid`, which fails them with the reason rather than
 * run them: their reserved copy could never count a retry (tries would
 * never run out).
 * (Text that is not a JSON object goes to the runtime, whose payload check
 * fails it with the reason.)
 */
import { printable } from "../../payload/untrusted_text.ts";
import type { DecodedReservation } from "./reservation.ts";

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

/** The job with the reason the runtime fails it for (see `ReservedJob.invalid`). */
export function markInvalid(reserved: DecodedReservation): DecodedReservation {
  const fields = JSON.parse(reserved.job.rawPayload) as { attempts?: unknown; id?: unknown };
  const countable = typeof fields.attempts === "number" && Number.isFinite(fields.attempts);
  const reason = countable ? CJSON_REASON : NO_ATTEMPTS_REASON;
  // The script could not read the id either: take it from the payload, so logs name the job.
  const id = reserved.job.id || (typeof fields.id === "string" ? printable(fields.id, 64) : "");
  return { ...reserved, job: { ...reserved.job, id, invalid: reason } };
}
