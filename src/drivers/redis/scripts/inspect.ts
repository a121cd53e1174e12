/** Read-only scripts. */
import { LuaScript } from "../lua_script.ts";

/**
 * Count a queue's jobs by state: Laravel's `LuaScripts::size`, split.
 *
 * KEYS[1] the list; KEYS[2] `:delayed`; KEYS[3] `:reserved`.
 * Returns: {ready, delayed, reserved} as integers (`:delayed` members that
 *   are due but not migrated yet count as delayed).
 * Guarantees: one atomic snapshot (a job moving between keys is counted exactly once).
 */
export const COUNTS = new LuaScript(
  "counts",
  `
return {redis.call('llen', KEYS[1]), redis.call('zcard', KEYS[2]), redis.call('zcard', KEYS[3])}
`,
);
