/** The reserve script: Laravel's migrate + pop, for several queues and many jobs in one call. */
import { LuaScript } from "../lua_script.ts";

/**
 * Reserve up to `limit` jobs from queues in priority order.
 *
 * For each queue, in KEYS order, until `limit` jobs are taken:
 * 1. Laravel's `migrateExpiredJobs` for `:delayed`, then for `:reserved`:
 *    `ZRANGEBYSCORE from -inf now LIMIT 0 batch` (Laravel ≥ 9.23's bounded
 *    form), RPUSH them onto the list in chunks of 100 with one `1` per job
 *    onto `:notify`, then `ZREMRANGEBYRANK from 0 n-1` (the due members are
 *    exactly the lowest ranks).
 * 2. Laravel's `pop`, repeated: LPOP the list; decode with cjson; attempts + 1;
 *    re-encode; `ZADD :reserved reserveUntil <reserved copy>`; LPOP `:notify`.
 *
 * KEYS: 4 per queue, in priority order: list, `:delayed`, `:reserved`, `:notify`.
 * ARGV[1] now: unix seconds (the caller's clock; Redis' clock is never used).
 * ARGV[2] reserveUntil: unix seconds the leases expire (now + retry_after).
 * ARGV[3] limit: the most jobs to take (>= 1).
 * ARGV[4] batch: the most members each migrate moves per source per call.
 *
 * Returns: a flat array, 5 entries per job in the order taken:
 *   queue index (0-based integer), the list copy, the reserved copy, the
 *   payload's string `id`, the reserved copy's attempts (a string).
 *   A malformed member (not JSON, not an object, `attempts` not a number, or
 *   not re-encodable) has nil as reserved copy, id and attempts: it was moved
 *   UNCHANGED to `:reserved` (its reserved member is the list copy), so the
 *   caller can fail it.
 *   Then ONE last entry: the lowest `:delayed`/`:reserved` score of all the
 *   queues after the call (a string, unix seconds), or nil when they are
 *   empty: when a job comes due without a notify (for the waiter's timer).
 * Errors: `WRONGTYPE <key> holds a <type>, not a <type>` before ANY write.
 *
 * Guarantees:
 * - Total: keys are type-checked before the first write, cjson runs under
 *   pcall, and the only writes that can be refused for memory (RPUSH, ZADD)
 *   come after the script's first write (LPOP, or a refused first RPUSH that
 *   changed nothing), which Redis lets finish. So no error can stop the
 *   script between an LPOP and its ZADD: no popped job is ever dropped
 *   (Laravel's pop loses a job without `attempts` that way).
 * - Atomic (one script): another worker never sees a job half-moved.
 * - Read-only after the pops (the next-due scan: O(log n) per zset).
 * - The reserved copy is made by Redis' own cjson, byte-identical to what
 *   Laravel's pop script makes from the same list copy.
 */
export const RESERVE_SOURCE = `
local now = ARGV[1]
local reserveUntil = ARGV[2]
local limit = tonumber(ARGV[3])
local batch = tonumber(ARGV[4])
local expected = {'list', 'zset', 'zset', 'list'}
for k = 1, #KEYS do
  local actual = redis.call('type', KEYS[k])['ok']
  local wanted = expected[(k - 1) % 4 + 1]
  if actual ~= 'none' and actual ~= wanted then
    return redis.error_reply('WRONGTYPE ' .. KEYS[k] .. ' holds a ' .. actual .. ', not a ' .. wanted)
  end
end

local ones = {}
for i = 1, 100 do ones[i] = '1' end

local function migrate(from, to, notify)
  local due = redis.call('zrangebyscore', from, '-inf', now, 'LIMIT', 0, batch)
  local n = #due
  if n == 0 then return end
  for i = 1, n, 100 do
    local j = math.min(i + 99, n)
    redis.call('rpush', to, unpack(due, i, j))
    redis.call('rpush', notify, unpack(ones, 1, j - i + 1))
  end
  redis.call('zremrangebyrank', from, 0, n - 1)
end

local out = {}
local taken = 0
for q = 0, #KEYS / 4 - 1 do
  if taken >= limit then break end
  local list, delayed, reserved, notify = KEYS[q * 4 + 1], KEYS[q * 4 + 2], KEYS[q * 4 + 3], KEYS[q * 4 + 4]
  migrate(delayed, list, notify)
  migrate(reserved, list, notify)
  while taken < limit do
    local job = redis.call('lpop', list)
    if not job then break end
    local copy, id, attempts = false, false, false
    local ok, decoded = pcall(cjson.decode, job)
    if ok and type(decoded) == 'table' and type(decoded['attempts']) == 'number' then
      decoded['attempts'] = decoded['attempts'] + 1
      local encoded
      ok, encoded = pcall(cjson.encode, decoded)
      if ok then
        copy = encoded
        attempts = tostring(decoded['attempts'])
        if type(decoded['id']) == 'string' then id = decoded['id'] end
      end
    end
    redis.call('zadd', reserved, reserveUntil, copy or job)
    redis.call('lpop', notify)
    taken = taken + 1
    local n = #out
    out[n + 1] = q
    out[n + 2] = job
    out[n + 3] = copy
    out[n + 4] = id
    out[n + 5] = attempts
  end
end

local nextDue = false
for q = 0, #KEYS / 4 - 1 do
  for k = 2, 3 do
    local first = redis.call('zrange', KEYS[q * 4 + k], 0, 0, 'WITHSCORES')
    if first[2] then
      local score = tonumber(first[2])
      if not nextDue or score < nextDue then nextDue = score end
    end
  end
end
out[#out + 1] = nextDue and tostring(nextDue) or false
return out
`;

export const RESERVE = new LuaScript("reserve", RESERVE_SOURCE);

/** Entries per job in the reserve script's reply. */
export const RESERVE_ENTRIES_PER_JOB = 5;
