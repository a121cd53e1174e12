/**
 * Reserving for the queue: the reserve script on the command connection,
 * the reserve-ahead behind each waiting BLPOP on the blocking connection,
 * and the stash that hands those jobs out first. Also remembers, per list of
 * queues, the last limit (what a wait reserves ahead) and the next due score
 * the last call saw (when the waiter must wake without a notify).
 */
import type { ReservedJob } from "../driver.ts";
import { isUncountable, markInvalid } from "./invalid_payloads.ts";
import type { QueueKeys } from "./keys.ts";
import { PrefetchStash, type StashedJob } from "./prefetch_stash.ts";
import type { BufferCaller } from "./lua_script.ts";
import type { RedisQueueSettings } from "./redis_queue_options.ts";
import { runReserve } from "./reservation.ts";

export interface ReserverDeps {
  readonly settings: RedisQueueSettings;
  /** How long a reservation lasts: retry_after, or the lease once one is set. Seconds. */
  readonly reservationSeconds: () => number;
  readonly keys: (queue: string) => QueueKeys;
  /** Fails a job (the queue's `fail`). */
  readonly fail: (
    job: ReservedJob,
    failure: { uuid: string; exception: string },
  ) => Promise<boolean>;
  /** Requeues a stashed job that will not be handed out. */
  readonly putBack: (entry: StashedJob) => void;
  /** Lets `close()` wait for the operation. */
  readonly track: <T>(operation: Promise<T>) => Promise<T>;
}

export class Reserver {
  readonly #d: ReserverDeps;
  readonly #stash = new PrefetchStash();
  readonly #lastLimit = new Map<string, number>();
  readonly #nextDue = new Map<string, number | undefined>();

  constructor(deps: ReserverDeps) {
    this.#d = deps;
  }

  /**
   * Up to `limit` stashed jobs of `queues`, at once (no round trip); stale
   * ones are put back. Empty when none are stashed: then call `reserve`.
   */
  takeStashed(queues: readonly string[], limit: number): ReservedJob[] {
    if (this.#stash.size === 0) return [];
    const now = Math.floor(this.#d.settings.clock() / 1000);
    const minLease = this.#d.reservationSeconds() / 2;
    const { jobs, stale } = this.#stash.take(queues, limit, now, minLease);
    for (const entry of stale) this.#d.putBack(entry);
    return jobs.map((entry) => entry.job);
  }

  /** One reserve call through `client` (after `takeStashed` found nothing). */
  async reserve(
    client: BufferCaller,
    queues: readonly string[],
    limit: number,
  ): Promise<ReservedJob[]> {
    this.#lastLimit.set(listKey(queues), limit);
    return (await this.#reserveOn(client, queues, limit)).map((entry) => entry.job);
  }

  /** The reserve behind a waiter's BLPOP, through `client`; true when it stashed jobs. */
  prefetch(client: BufferCaller, queues: readonly string[]): Promise<boolean> {
    const limit = this.#lastLimit.get(listKey(queues)) ?? 1;
    return this.#d.track(
      this.#reserveOn(client, queues, limit).then((reserved) => {
        this.#stash.add(reserved);
        return reserved.length > 0;
      }),
    );
  }

  /** When a job of `queues` comes due with no notify, per the last call (ms since the epoch). */
  dueAt(queues: readonly string[]): number | undefined {
    const seconds = this.#nextDue.get(listKey(queues));
    return seconds === undefined ? undefined : seconds * 1000;
  }

  hasStashed(queues: readonly string[]): boolean {
    return this.#stash.has(queues);
  }

  /** Empties the stash (for `close()` to requeue). */
  takeAllStashed(): StashedJob[] {
    return this.#stash.takeAll();
  }

  /** Runs the reserve script; fails the payloads the runtime must not run. */
  async #reserveOn(client: BufferCaller, queues: readonly string[], limit: number) {
    const s = this.#d.settings;
    const { reserved, nextDue } = await runReserve(client, {
      queues: queues.map(this.#d.keys),
      limit,
      now: Math.floor(s.clock() / 1000),
      reservationSeconds: this.#d.reservationSeconds(),
      migrateBatchSize: s.migrateBatchSize,
    });
    this.#nextDue.set(listKey(queues), nextDue);
    return reserved.map((r) => isUncountable(r) ? markInvalid(r) : r);
  }
}

function listKey(queues: readonly string[]): string {
  return queues.join("\n");
}
