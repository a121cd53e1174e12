/**
 * What the daemon makes of the store's answers to reserve. Three kinds of
 * failure, each treated as what it is:
 * - One queue is unusable (`QueueUnusableError`: a Redis key of the wrong
 *   type). The store answered and moved nothing: that queue is set aside (its
 *   jobs stay where they are), the other queues are reserved from at once, and
 *   it is tried again every `recheckMs`. Reported once per distinct problem,
 *   and once more when it works again.
 * - The store refused (`StoreRefusedError`: an ACL, OOM, MISCONF, a script
 *   error). It is reachable, so this is no outage: retried with backoff,
 *   reported once until the reply changes, never a reason to give up.
 * - Anything else is an outage: retried with backoff, reported each time,
 *   and `storeLost` once it has lasted past `storeTimeoutMs`.
 * The first reserve that works after failures reports the recovery.
 */
import type { Clock } from "../clock.ts";
import type { QueueUnusableError } from "../errors.ts";
import type { EventBus } from "../events.ts";

export interface StoreHealthOptions {
  /** The daemon's queues, in priority order. */
  readonly queues: readonly string[];
  readonly events: EventBus;
  readonly clock: Clock;
  /** How long the store may stay unreachable before the daemon gives up. Milliseconds. */
  readonly storeTimeoutMs: number;
  /** How often a set-aside queue is tried again. Milliseconds. */
  readonly recheckMs: number;
}

export interface FailureVerdict {
  /** Wait this long before reserving again (0: at once, the other queues are fine). Milliseconds. */
  readonly retryInMs: number;
  /** Set when the store stayed unreachable past the timeout: why the daemon gives up. */
  readonly storeLost?: string;
}

interface SetAsideQueue {
  readonly problem: string;
  readonly since: number;
  recheckAt: number;
}

/** Backoff between failed reserves: 50 ms doubling to this. Milliseconds. */
const MAX_RETRY_MS = 5000;

export class StoreHealth {
  readonly #o: StoreHealthOptions;
  readonly #setAside = new Map<string, SetAsideQueue>();
  /** When the current run of failures began (outages and refusals). */
  #failingSince: number | undefined;
  /** When the store stopped answering at all (the store timeout runs from here). */
  #downSince: number | undefined;
  #failures = 0;
  /** The refusal last reported (repeats of it are not). */
  #reportedRefusal: string | undefined;

  constructor(options: StoreHealthOptions) {
    this.#o = options;
  }

  /** The queues to reserve from now, in priority order: set-aside ones only when due for a try. */
  reservable(): readonly string[] {
    if (this.#setAside.size === 0) return this.#o.queues;
    const now = this.#o.clock();
    return this.#o.queues.filter((queue) => (this.#setAside.get(queue)?.recheckAt ?? 0) <= now);
  }

  /** The queues to wait on and count: all but the set-aside ones. */
  served(): readonly string[] {
    if (this.#setAside.size === 0) return this.#o.queues;
    return this.#o.queues.filter((queue) => !this.#setAside.has(queue));
  }

  /** Milliseconds until a set-aside queue is due for a try; undefined when none is set aside. */
  msUntilRecheck(): number | undefined {
    if (this.#setAside.size === 0) return undefined;
    const next = Math.min(...[...this.#setAside.values()].map((entry) => entry.recheckAt));
    return Math.max(0, next - this.#o.clock());
  }

  /** A reserve from `queues` worked. */
  succeeded(queues: readonly string[]): void {
    if (this.#setAside.size > 0) {
      for (const queue of queues) {
        const entry = this.#setAside.get(queue);
        if (entry === undefined) continue;
        this.#setAside.delete(queue);
        this.#o.events.emit("queue:restored", {
          queue,
          setAsideMs: this.#o.clock() - entry.since,
        });
      }
    }
    if (this.#failingSince === undefined) return;
    const downMs = this.#o.clock() - this.#failingSince;
    this.#failingSince = this.#downSince = this.#reportedRefusal = undefined;
    this.#failures = 0;
    this.#o.events.emit("store:recovered", { operation: "reserve", downMs });
  }

  /** A store call for `queues` failed with `error`: reports it, and says what to do next. */
  failed(error: unknown, queues: readonly string[], operation = "reserve"): FailureVerdict {
    const now = this.#o.clock();
    const thrown = error instanceof Error ? error : new Error(String(error));
    const unusable = asQueueUnusable(thrown);
    if (unusable !== undefined && queues.includes(unusable.queue)) {
      this.#downSince = undefined; // the store answered
      this.#setAsideQueue(unusable, now);
      return { retryInMs: 0 };
    }
    this.#failingSince ??= now;
    const retryInMs = Math.min(MAX_RETRY_MS, 50 * 2 ** this.#failures++);
    // An unusable queue this call did not ask for is a driver's slip: still, the store answered.
    if (thrown.name === "StoreRefusedError" || unusable !== undefined) {
      this.#downSince = undefined;
      if (thrown.message !== this.#reportedRefusal) {
        this.#reportedRefusal = thrown.message;
        this.#o.events.emit("store:error", { operation, error: thrown, refused: true });
      }
      return { retryInMs };
    }
    this.#reportedRefusal = undefined;
    this.#o.events.emit("store:error", { operation, error: thrown });
    this.#downSince ??= now;
    if (now - this.#downSince <= this.#o.storeTimeoutMs) return { retryInMs };
    const seconds = this.#o.storeTimeoutMs / 1000;
    return {
      retryInMs,
      storeLost: `unreachable for over ${seconds} s (--store-timeout): ${thrown.message}`,
    };
  }

  #setAsideQueue(error: QueueUnusableError, now: number): void {
    const known = this.#setAside.get(error.queue);
    const recheckAt = now + this.#o.recheckMs;
    if (known?.problem === error.problem) {
      known.recheckAt = recheckAt;
      return;
    }
    this.#setAside.set(error.queue, {
      problem: error.problem,
      since: known?.since ?? now,
      recheckAt,
    });
    this.#o.events.emit("queue:set-aside", {
      queue: error.queue,
      problem: error.problem,
      recheckSeconds: this.#o.recheckMs / 1000,
    });
  }
}

/** By name and shape, not instanceof: a driver may have loaded another copy of errors.ts. */
function asQueueUnusable(error: Error): QueueUnusableError | undefined {
  const { queue, problem } = error as Partial<QueueUnusableError>;
  return error.name === "QueueUnusableError" && typeof queue === "string" &&
      typeof problem === "string"
    ? error as QueueUnusableError
    : undefined;
}
