/**
 * Waiting for jobs without polling: ONE `BLPOP` over the `:notify` lists of
 * all the queues at once (a push to any of them wakes it; Laravel blocks on
 * one queue at a time), on a connection of its own, since a blocked
 * connection can do nothing else. Right behind each BLPOP, on the same
 * connection, goes a reserve (`prefetch`): Redis runs it as soon as the BLPOP
 * returns, so a wake-up arrives with its jobs already reserved.
 *
 * Delayed jobs coming due and leases expiring push no notify, so each BLPOP
 * also ends at the earliest `:delayed`/`:reserved` score (`dueAt`, from the
 * latest reserve), and lasts at most `sliceMs` (each slice's reserve reads the
 * scores again, catching a delayed job another process added meanwhile). An
 * abort pushes a token onto a wake list of this waiter's own that the BLPOP
 * also watches, which ends the BLPOP within a round trip; the wait itself
 * returns at once. The same token ends each BLPOP on time: Redis itself only
 * checks BLPOP timeouts every 100 ms (`hz` 10).
 *
 * Redis Cluster: BLPOP over several keys needs them in one slot, so the
 * queues must share a hash tag (`{app}:high`, `{app}:low`). Not handled here.
 */
import type { BlockingLink } from "./blocking_link.ts";
import type { RedisLink } from "./redis_link.ts";

export interface NotifyWaiterOptions {
  /** The connection that blocks. */
  readonly blocking: Pick<BlockingLink, "ready" | "blpop" | "reset">;
  /** The command connection (wake tokens). */
  readonly commands: RedisLink;
  /** This waiter's wake list. */
  readonly wakeKey: string;
  /** Longest single BLPOP. Milliseconds. */
  readonly sliceMs: number;
  /** Redis >= 6 takes fractional BLPOP timeouts; older servers whole seconds. */
  readonly fractionalTimeouts: () => boolean;
  /** The current time. Milliseconds since the epoch. */
  readonly clock: () => number;
  /** When a job of these queues comes due with no push (ms since the epoch); undefined: unknown or never. */
  readonly dueAt: (queues: readonly string[]) => number | undefined;
  /**
   * Sends a reserve for `queues` on the blocking connection. Must write its
   * command before returning (no await first), so it queues right behind the
   * BLPOP. Resolves true when it reserved jobs.
   */
  readonly prefetch: (queues: readonly string[]) => Promise<boolean>;
}

/** How long a wake token outlives an abort that found no BLPOP to end. Milliseconds. */
const WAKE_TOKEN_TTL_MS = 60_000;
/** While the blocking connection is down, wait this long before returning (no hot loop). */
const DOWN_PAUSE_MS = 250;
/** How much longer the server-side BLPOP timeout is than the slice the poke ends. Milliseconds. */
const POKE_LEAD_MS = 250;
/** Extra time an unanswered BLPOP gets past its server timeout, twice, before its socket is deemed stuck. */
const GUARD_MARGIN_MS = 1000;

type SliceEnd = "woken" | "idle";

export class NotifyWaiter {
  readonly #o: NotifyWaiterOptions;
  /** Ends the current waits: abort, close. */
  readonly #wakers = new Set<() => void>();
  /** Current waits, woken when any reserve on the blocking connection took jobs. */
  readonly #jobWaiters = new Set<() => void>();
  /** BLPOPs sent and not answered yet. */
  #blocking = 0;
  #closed = false;
  /** Timers and listeners of settled slices, cleared at the next slice or close (see finish). */
  #cleanups: Array<() => void> = [];
  /** The second look at a BLPOP its guard found unanswered (see #blockOnce). */
  #stuckCheck: ReturnType<typeof setTimeout> | undefined;

  constructor(options: NotifyWaiterOptions) {
    this.#o = options;
  }

  /** Ends every wait now (sending a wake token to a pending BLPOP); later waits return at once. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#stuckCheck);
    if (this.#blocking > 0) this.#sendWakeToken();
    for (const wake of [...this.#wakers]) wake();
    // After the wakes: each queues its slice's clean-up, and no later slice would run it.
    this.#runCleanups();
  }

  /**
   * Resolves when a job may be available: a reserve behind a BLPOP took jobs
   * (a push, or a delayed job or expired lease come due), `maxWaitMs` passed,
   * `signal` aborted, or the waiter closed. Never rejects: a failing
   * connection ends the wait (after a short pause) and the caller's next
   * reserve reports it.
   */
  async wait(
    queues: readonly string[],
    notifyKeys: readonly string[],
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const deadline = performance.now() + maxWaitMs;
    while (!this.#closed && !signal?.aborted) {
      const leftMs = deadline - performance.now();
      if (!this.#o.blocking.ready) {
        return await this.#pause(Math.min(DOWN_PAUSE_MS, leftMs), signal);
      }
      const dueAt = this.#o.dueAt(queues);
      const dueMs = dueAt === undefined ? Infinity : dueAt - this.#o.clock();
      const blockMs = Math.min(this.#o.sliceMs, leftMs, dueMs);
      if (blockMs <= 0) return;
      if (await this.#blockOnce(queues, notifyKeys, blockMs, signal) === "woken") return;
    }
  }

  /**
   * One BLPOP with its reserve behind it. "woken": jobs were reserved (by
   * this pair, or by an earlier wait's pair still ahead on the connection),
   * the wait was ended, or a command failed. "idle": the slice timed out, or
   * a token came whose job another worker took.
   */
  #blockOnce(
    queues: readonly string[],
    notifyKeys: readonly string[],
    blockMs: number,
    signal?: AbortSignal,
  ): Promise<SliceEnd> {
    this.#runCleanups();
    return new Promise<SliceEnd>((resolve) => {
      let settled = false;
      // Redis checks BLPOP timeouts only every 1000/hz ms (100 ms by default): end it on
      // time with a wake token instead (its reserve then runs at once and takes what came due).
      const poke = setTimeout(() => {
        if (!settled && this.#blocking > 0) this.#sendWakeToken();
      }, blockMs);
      // A BLPOP unanswered well past its server timeout is on a stuck socket, or its answer
      // waits unread behind a blocked event loop (a long synchronous job): its timer fires
      // before the socket is read. Look again a margin later; drop the socket if still silent.
      let answered = false;
      const guard = setTimeout(() => {
        finish("idle");
        if (answered || this.#stuckCheck !== undefined) return;
        this.#stuckCheck = setTimeout(() => {
          this.#stuckCheck = undefined;
          if (!answered) this.#o.blocking.reset();
        }, GUARD_MARGIN_MS);
      }, blockMs + POKE_LEAD_MS + GUARD_MARGIN_MS);
      const finish = (end: SliceEnd) => {
        if (settled) return;
        settled = true;
        this.#wakers.delete(onWake);
        this.#jobWaiters.delete(onJobs);
        resolve(end);
        // Later: the woken jobs start first (clearing timers and listeners cost ~20 µs on the
        // way from a wake-up to handle(), measured at low load). Until then a timer or abort
        // that fires finds the slice settled and does nothing.
        this.#cleanups.push(() => {
          clearTimeout(poke);
          clearTimeout(guard);
          signal?.removeEventListener("abort", onWake);
        });
      };
      const onJobs = () => finish("woken");
      const onWake = () => {
        if (settled) return;
        if (this.#blocking > 0) this.#sendWakeToken();
        finish("woken");
      };
      this.#wakers.add(onWake);
      this.#jobWaiters.add(onJobs);
      signal?.addEventListener("abort", onWake, { once: true });

      // Longer than the slice: the poke ends it on time, so no token is left over.
      const serverMs = blockMs + POKE_LEAD_MS;
      const seconds = this.#o.fractionalTimeouts()
        ? (serverMs / 1000).toFixed(3)
        : String(Math.max(1, Math.ceil(serverMs / 1000)));
      this.#blocking++;
      const popped = this.#o.blocking.blpop([...notifyKeys, this.#o.wakeKey], seconds)
        .finally(() => {
          answered = true;
          this.#blocking--;
        });
      const fetched = this.#o.prefetch(queues);
      Promise.all([popped, fetched]).then(
        ([, reserved]) => {
          if (reserved) { for (const wake of [...this.#jobWaiters]) wake(); }
          else finish("idle");
        },
        () => finish("woken"),
      );
    });
  }

  #runCleanups(): void {
    const cleanups = this.#cleanups;
    this.#cleanups = [];
    for (const cleanup of cleanups) cleanup();
  }

  #sendWakeToken(): void {
    const commands = this.#o.commands;
    if (!commands.ready) return; // the BLPOP is not on the server now: nothing to end
    commands.client.multi()
      .rpush(this.#o.wakeKey, "1")
      .pexpire(this.#o.wakeKey, WAKE_TOKEN_TTL_MS)
      .exec()
      .catch(() => {
        // A wake that fails only costs the rest of one BLPOP slice.
      });
  }

  #pause(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
