/**
 * The latest time a job may be due. Laravel's `jobs` table stores
 * `available_at` as an unsigned 32-bit integer (`unsignedInteger`), so a
 * delay past it writes a row no worker can ever take (or MySQL refuses).
 * Both drivers (and dispatch, before anything is built) refuse such delays.
 */

/** The largest unsigned 32-bit unix time: 2106-02-07 06:28:15 UTC. */
export const LAST_DUE_TIME = 4_294_967_295;

/**
 * Throws a RangeError of one line when a job pushed at `nowMs` (milliseconds)
 * with `delaySeconds` would be due past LAST_DUE_TIME. `subject` names the
 * delay: `--delay=99999999999999999999`, `Cannot push jobs: a delay of 1e+20 seconds`.
 */
export function checkDueTime(subject: string, nowMs: number, delaySeconds: number): void {
  if (Math.ceil((nowMs + delaySeconds * 1000) / 1000) <= LAST_DUE_TIME) return;
  const most = Math.max(0, Math.floor(LAST_DUE_TIME - nowMs / 1000));
  throw new RangeError(
    `${subject} is too long: it puts the job past unix time ${LAST_DUE_TIME} ` +
      `(2106-02-07 06:28:15 UTC), the latest available_at Laravel's jobs table holds: ` +
      `use at most ${most} seconds`,
  );
}
