/**
 * Laravel's Redis key layout (`RedisQueue::getQueue`): for queue `Q` and the
 * connection's key prefix `P` (phpredis and predis put it before every key,
 * the KEYS of scripts included):
 *
 * | key                  | type | holds                                                 |
 * | -------------------- | ---- | ----------------------------------------------------- |
 * | `P queues:Q`          | list | ready payloads, RPUSH to the tail, LPOP from the head |
 * | `P queues:Q:delayed`  | zset | delayed / released payloads, scored by due unix second |
 * | `P queues:Q:reserved` | zset | reserved copies, scored by lease expiry unix second   |
 * | `P queues:Q:notify`   | list | one "1" per job made available (BLPOP wake-ups)        |
 *
 * A hash-tagged name (`{default}`) keeps all four keys in one Redis Cluster slot.
 */

export interface QueueKeys {
  /** The plain queue name (`default`). */
  readonly queue: string;
  readonly list: string;
  readonly delayed: string;
  readonly reserved: string;
  readonly notify: string;
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const list = `${prefix}queues:${queue}`;
  return {
    queue,
    list,
    delayed: `${list}:delayed`,
    reserved: `${list}:reserved`,
    notify: `${list}:notify`,
  };
}

/**
 * A key of KQueue's own beside a queue's keys (same hash tag, so the same
 * Cluster slot): `P queues:Q:kqueue-<name>`. Laravel never reads these.
 */
export function kqueueKey(keys: QueueKeys, name: string): string {
  return `${keys.list}:kqueue-${name}`;
}
