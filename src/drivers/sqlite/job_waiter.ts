/**
 * Waiting for jobs without polling the write lock.
 *
 * `PRAGMA data_version` takes no lock and changes whenever ANOTHER
 * connection commits, so it is polled cheaply. It never changes for this
 * connection's own writes: those wake waiters in-process. Delays coming due
 * and reservations expiring commit nothing, so the waiter also sleeps only
 * until the earliest such moment.
 */
import { isBusyError } from "./busy.ts";

/** Where the last reserve left off: a wait returns at once if anything changed since. */
export interface WaitBaseline {
  /** `data_version` read inside the last reserve transaction (undefined before the first). */
  readonly dataVersion: number | undefined;
  /** The local write counter at the last reserve. */
  readonly localWrites: number;
}

export interface JobWaiterOptions {
  /** How often `data_version` is read. Milliseconds. */
  readonly pollIntervalMs: number;
  /** Reads `PRAGMA data_version` (synchronous; may throw a busy error). */
  readonly readDataVersion: () => number;
  /**
   * Milliseconds until a job of `queues` becomes available with no commit
   * (a delay due, a reservation expiring): <= 0 means now, undefined never.
   */
  readonly msUntilDue: (queues: readonly string[]) => number | undefined;
}

/** setTimeout's largest delay; a longer wait just wakes early (a spurious wake is harmless). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class JobWaiter {
  readonly #options: JobWaiterOptions;
  readonly #wakers = new Set<() => void>();
  #localWrites = 0;
  #closed = false;

  constructor(options: JobWaiterOptions) {
    this.#options = options;
  }

  /** Counts this connection's writes that can make a job available. */
  get localWrites(): number {
    return this.#localWrites;
  }

  /** Call after this connection committed a push, release or requeue. */
  notifyLocalWrite(): void {
    this.#localWrites++;
    for (const wake of [...this.#wakers]) wake();
  }

  /** Ends every wait now and makes later waits return at once. */
  close(): void {
    this.#closed = true;
    for (const wake of [...this.#wakers]) wake();
  }

  /**
   * Resolves when jobs may have become available: another connection
   * committed, this one wrote, a job comes due, `maxWaitMs` passed (Infinity:
   * no limit), `signal` aborted, or `close()` was called. Never rejects for
   * a busy database (that only means someone is writing: it wakes).
   */
  async wait(
    queues: readonly string[],
    maxWaitMs: number,
    since: WaitBaseline,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.#closed || signal?.aborted || this.#localWrites !== since.localWrites) return;
    const baseline = this.#readVersion();
    if (baseline === undefined) return;
    if (since.dataVersion !== undefined && baseline !== since.dataVersion) return;
    let dueInMs: number | undefined;
    try {
      dueInMs = this.#options.msUntilDue(queues);
    } catch (error) {
      if (!isBusyError(error)) throw error;
      return;
    }
    if (dueInMs !== undefined && dueInMs <= 0) return;
    const limitMs = Math.min(maxWaitMs, dueInMs ?? Infinity);
    if (limitMs <= 0) return;

    await new Promise<void>((resolve) => {
      let pollTimer: ReturnType<typeof setTimeout> | undefined;
      let limitTimer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(pollTimer);
        clearTimeout(limitTimer);
        this.#wakers.delete(finish);
        signal?.removeEventListener("abort", finish);
        resolve();
      };
      const poll = () => {
        let changed = true;
        try {
          changed = this.#closed || this.#options.readDataVersion() !== baseline;
        } catch {
          // Busy, or the handle broke: wake; the caller's next reserve reports a real error.
        }
        if (changed) return finish();
        pollTimer = setTimeout(poll, this.#options.pollIntervalMs);
      };
      pollTimer = setTimeout(poll, this.#options.pollIntervalMs);
      if (Number.isFinite(limitMs)) {
        limitTimer = setTimeout(finish, Math.min(limitMs, MAX_TIMER_MS));
      }
      this.#wakers.add(finish);
      signal?.addEventListener("abort", finish, { once: true });
    });
  }

  /** The current data_version, or undefined when it can't be read now (treated as a change). */
  #readVersion(): number | undefined {
    try {
      return this.#options.readDataVersion();
    } catch (error) {
      if (isBusyError(error)) return undefined;
      throw error;
    }
  }
}
