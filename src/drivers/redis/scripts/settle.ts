/**
 * The scripts that end a reservation: ack, release, requeue, fail. Each one
 * starts with a byte-exact `ZREM :reserved <reserved copy>` and changes
 * nothing else when that removed nothing (the lease expired and another
 * worker has the job now), so each is safe to replay after a reconnect.
 */
import { LuaScript } from "../lua_script.ts";

/**
 * Acknowledge jobs (success): Laravel's `deleteReserved` (`ZREM`) for many members.
 *
 * KEYS[1] the queue's `:reserved` zset.
 * ARGV: the reserved copies, exactly as the reserve script returned them.
 * Returns: one integer per member, 1 = removed, 0 = the reservation was lost.
 * Guarantees: idempotent (a replay removes nothing more).
 */
export const ACK = new LuaScript(
  "ack",
  `
local removed = {}
for i = 1, #ARGV do removed[i] = redis.call('zrem', KEYS[1], ARGV[i]) end
return removed
`,
);

/**
 * Release a job for a retry: Laravel's `LuaScripts::release` (ZREM from
 * `:reserved`, ZADD the reserved copy, attempts already counted, to `:delayed`),
 * except that nothing is added when the ZREM removed nothing: Laravel's
 * unconditional ZADD would duplicate a job another worker took over.
 *
 * KEYS[1] the `:delayed` zset; KEYS[2] the `:reserved` zset (Laravel's order).
 * ARGV[1] the reserved copy; ARGV[2] the unix second it becomes due.
 * Returns: 1 released, 0 the reservation was lost (nothing changed).
 * Guarantees: atomic; idempotent.
 */
export const RELEASE = new LuaScript(
  "release",
  `
if redis.call('zrem', KEYS[2], ARGV[1]) == 1 then
  redis.call('zadd', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
`,
);

/**
 * Undo a reservation that was not the job's fault (a shutdown, a job the
 * runtime refused to start): the list copy, attempts NOT counted, goes back
 * to the HEAD of the list with a notify, as if it had never been popped.
 *
 * KEYS[1] the `:reserved` zset; KEYS[2] the list; KEYS[3] the `:notify` list.
 * ARGV[1] the reserved copy; ARGV[2] the list copy.
 * Returns: 1 requeued, 0 the reservation was lost (nothing changed).
 * Guarantees: atomic; idempotent.
 */
export const REQUEUE = new LuaScript(
  "requeue",
  `
if redis.call('zrem', KEYS[1], ARGV[1]) == 1 then
  redis.call('lpush', KEYS[2], ARGV[2])
  redis.call('rpush', KEYS[3], 1)
  return 1
end
return 0
`,
);

/**
 * Put a job back for later without counting the attempt (one left for
 * another kind of worker): the list copy goes to `:delayed` at ARGV[3].
 *
 * KEYS[1] the `:reserved` zset; KEYS[2] the `:delayed` zset.
 * ARGV[1] the reserved copy; ARGV[2] the list copy; ARGV[3] unix second it is due.
 * Returns: 1 requeued, 0 the reservation was lost (nothing changed).
 * Guarantees: atomic; idempotent.
 */
export const REQUEUE_LATER = new LuaScript(
  "requeue_later",
  `
if redis.call('zrem', KEYS[1], ARGV[1]) == 1 then
  redis.call('zadd', KEYS[2], ARGV[3], ARGV[2])
  return 1
end
return 0
`,
);

/**
 * Delete a job that failed for good (Laravel: `delete()` then the
 * failed_jobs row), remembering under a one-off token that this call removed
 * it, so a replay after a lost reply still answers 1 and the row gets written.
 *
 * KEYS[1] the `:reserved` zset; KEYS[2] the token key (unique per fail call).
 * ARGV[1] the reserved copy; ARGV[2] the token's lifetime in milliseconds.
 * Returns: 1 removed by this call (now or in an earlier try), 0 the
 *   reservation was lost (write no failed_jobs row).
 * Guarantees: atomic; idempotent for one token.
 */
export const FAIL = new LuaScript(
  "fail",
  `
if redis.call('zrem', KEYS[1], ARGV[1]) == 1 then
  redis.call('set', KEYS[2], '1', 'PX', ARGV[2])
  return 1
end
return redis.call('exists', KEYS[2])
`,
);
