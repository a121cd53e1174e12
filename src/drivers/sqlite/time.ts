/**
 * Clock conversions. The driver's clock is milliseconds; the `jobs` table
 * stores unix seconds, as Laravel does.
 */

/** Unix seconds of a millisecond clock reading, rounded down (PHP's `time()`). */
export function unixSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/**
 * The `available_at` for a job pushed or released at `nowMs` with a delay.
 * No delay: this second (due at once). A delay: rounded up, so a job never
 * runs earlier than asked (Laravel's whole-second clock may run it up to a
 * second early).
 */
export function availableAtSeconds(nowMs: number, delaySeconds: number): number {
  if (delaySeconds <= 0) return unixSeconds(nowMs);
  return Math.ceil((nowMs + delaySeconds * 1000) / 1000);
}

/** `failed_jobs.failed_at`: `Y-m-d H:i:s` in UTC, as Laravel's `Date::now()` stores it. */
export function failedAtText(nowMs: number): string {
  return new Date(unixSeconds(nowMs) * 1000).toISOString().slice(0, 19).replace("T", " ");
}
