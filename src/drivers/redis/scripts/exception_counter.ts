/** Laravel's maxExceptions counter step on its Redis cache store. */
import { LuaScript } from "../lua_script.ts";

/**
 * Count one exception of a job, as Laravel's worker does through its cache
 * (`Worker::markJobAsFailedIfWillExceedMaxExceptions`):
 * `if (! get(key)) put(key, 0, 1 day); increment(key)`. On `RedisStore` that is
 * GET, `SETEX key 86400 0` (integers are stored raw, not serialized, so that
 * INCRBY works), INCRBY 1.
 *
 * KEYS[1] the cache key (`<REDIS_PREFIX><cache prefix>job-exceptions:<uuid>`).
 * ARGV[1] the TTL of a fresh counter, seconds (86400).
 * Returns: the count after this exception.
 * Guarantees: atomic (Laravel's three commands are not; the result is the same).
 *   PHP reads a missing key, "" and "0" as false: those restart at 0.
 */
export const COUNT_EXCEPTION = new LuaScript(
  "count_exception",
  `
local value = redis.call('get', KEYS[1])
if not value or value == '' or value == '0' then
  redis.call('setex', KEYS[1], ARGV[1], 0)
end
return redis.call('incrby', KEYS[1], 1)
`,
);
