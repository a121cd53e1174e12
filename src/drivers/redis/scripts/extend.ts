/**
 * The lease extension script, run only by the lease supervisor Worker
 * (through its own small client, so it carries no LuaScript wrapper).
 *
 * Extend leases: for each member still in `:reserved`, raise its score to
 * ARGV[1] (`ZADD XX`, never lowering it: a replay after a reconnect cannot
 * shorten a newer extension). A member that is gone (acked, released,
 * requeued, or migrated back to the list after its lease lapsed) is not
 * re-added: its job is no longer ours.
 *
 * KEYS[1] the queue's `:reserved` zset.
 * ARGV[1] the new score: unix seconds the leases now expire (Laravel's
 *   workers read it as they read their own: an absolute expiry time).
 * ARGV[2..n] the reserved copies, exactly as the reserve script returned them.
 * Returns: one integer per member, 1 = still reserved (extended), 0 = gone.
 * Guarantees: atomic; idempotent; touches no other key.
 */
export const EXTEND_SOURCE = `
local score = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  local current = redis.call('zscore', KEYS[1], ARGV[i])
  if current then
    if tonumber(current) < score then redis.call('zadd', KEYS[1], 'XX', ARGV[1], ARGV[i]) end
    out[i - 1] = 1
  else
    out[i - 1] = 0
  end
end
return out
`;
