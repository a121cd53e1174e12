/** Laravel's push script, for many payloads in one call. */
import { LuaScript } from "../lua_script.ts";

/**
 * Push payloads onto a queue: Laravel's `LuaScripts::push` (RPUSH the job,
 * RPUSH a `1` onto `:notify`) for every payload, in chunks of 100.
 *
 * KEYS[1] the list (`P queues:Q`); KEYS[2] its `:notify` list.
 * ARGV: the payloads, in order (each already carrying `id` and `attempts`).
 * Returns: the number of payloads pushed.
 * Guarantees: atomic (Laravel's `bulk` wraps its pushes in MULTI for the same
 * effect); FIFO with any other pusher.
 */
export const PUSH_SOURCE = `
local ones = {}
for i = 1, 100 do ones[i] = '1' end
for i = 1, #ARGV, 100 do
  local j = math.min(i + 99, #ARGV)
  redis.call('rpush', KEYS[1], unpack(ARGV, i, j))
  redis.call('rpush', KEYS[2], unpack(ones, 1, j - i + 1))
end
return #ARGV
`;

export const PUSH = new LuaScript("push", PUSH_SOURCE);

/**
 * One payload: Laravel's `LuaScripts::push` itself, word for word (the
 * common case at low load, where the loop above costs a visible ~15 µs).
 *
 * KEYS[1] the list; KEYS[2] its `:notify` list. ARGV[1] the payload.
 * Returns: nothing. Guarantees: atomic.
 */
export const PUSH_ONE = new LuaScript(
  "push_one",
  `
redis.call('rpush', KEYS[1], ARGV[1])
redis.call('rpush', KEYS[2], 1)
`,
);
