/**
 * The scheduler: keeps up to `concurrency` jobs in flight, reserving in
 * batches sized to the free slots, waiting on the store (never busy-polling)
 * when there is nothing to do, and stopping cleanly: stop reserving, let
 * in-flight jobs finish up to a deadline, then kill children and requeue
 * whatever is left. A second stop() forces. With leases on, every
 * reservation is kept alive by the lease supervisor from the moment it is
 * reserved until it is settled or put back, whatever runs the job.
 */
import { systemClock } from "../clock.ts";
import type { ReservedJob } from "../drivers/driver.ts";
import { EventBus, type StopReason } from "../events.ts";
import { IsolatedPool } from "../executor/isolated_pool.ts";
import { checkDeclarations } from "./declarations.ts";
import { InFlightJobs } from "./in_flight.ts";
import { type LagWatchdog, startLagWatchdog } from "./lag_watchdog.ts";
import { type LeaseKeeper, startLeases } from "./lease_keeper.ts";
import type { LeaseTiming } from "./lease_protocol.ts";
import { resolveLeaseTiming } from "./lease_settings.ts";
import { type DaemonOptions, resolveDaemonOptions, type ResolvedDaemonOptions } from "./options.ts";
import { createProcessorDeps, type ProcessorDeps } from "./processor_deps.ts";
import { Slots } from "./slots.ts";
import { StoreHealth } from "./store_health.ts";
import { catchStrayErrors } from "./stray_errors.ts";
import { watchLimits } from "./limit_watch.ts";
import { abortableDelay, nextTurn } from "./waiting.ts";
import { WorkWait } from "./work_wait.ts";

export interface DaemonResult {
  readonly reason: StopReason;
  /** 0, or 12 when stopped by `memory` (as Laravel), 1 when the store was lost. */
  readonly exitCode: number;
  /** Jobs that finished (any outcome) in this run. */
  readonly processed: number;
  readonly peakInFlight: number;
  readonly maxLagMs: number;
}

const EXIT_CODES: Partial<Record<StopReason, number>> = { memory: 12, "store-lost": 1 };
/**
 * A refill for fewer free slots than this share of `concurrency`, while jobs
 * are in flight, first waits REFILL_WAIT_MS for more to free up: jobs that
 * finish one at a time (isolated ones) would otherwise each cost a one-job
 * reservation (measured: ~15 % less daemon CPU per pooled isolated job; no
 * change for inline drains; never at low load, when nothing is in flight).
 */
const SMALL_REFILL_SHARE = 0.25;
const REFILL_WAIT_MS = 2;

export class Daemon {
  readonly events: EventBus;
  readonly #o: ResolvedDaemonOptions;
  readonly #deps: ProcessorDeps;
  readonly #slots = new Slots();
  readonly #jobs: InFlightJobs;
  readonly #stopWake = new AbortController();
  readonly #force = new AbortController();
  /** Undefined: lease extension off. */
  readonly #leaseTiming: LeaseTiming | undefined;
  #leases: LeaseKeeper | undefined;
  readonly #pool: IsolatedPool;
  readonly #health: StoreHealth;
  #stopReason: StopReason | undefined;
  #stopDetail: string | undefined;
  readonly #workWait = new WorkWait(this.#slots, this.#stopWake.signal);
  #run: Promise<DaemonResult> | undefined;

  constructor(options: DaemonOptions) {
    this.events = options.events ?? new EventBus();
    this.#o = resolveDaemonOptions(options, this.events, options.clock ?? systemClock);
    this.#leaseTiming = resolveLeaseTiming(this.#o, this.#o.driver, this.#o.registry);
    checkDeclarations(this.#o);
    this.#pool = new IsolatedPool({
      projectRoot: this.#o.projectRoot,
      pool: this.#o.pool,
      events: this.events,
    });
    this.#health = new StoreHealth({
      queues: this.#o.queues,
      events: this.events,
      clock: this.#o.clock,
      storeTimeoutMs: this.#o.storeTimeout * 1000,
      // A set-aside queue is tried as often as timed work is checked for: never in a hot loop.
      recheckMs: Math.max(1, this.#o.sleep) * 1000,
    });
    this.#deps = createProcessorDeps(this.#o, this.events, this.#pool.run, this.#force.signal);
    this.#jobs = new InFlightJobs({
      processor: this.#deps,
      slots: this.#slots,
      leases: () => this.#leases,
      onFinished: (processed) => {
        if (this.#o.maxJobs > 0 && processed >= this.#o.maxJobs) this.stop("max-jobs");
      },
    });
  }

  get inFlight(): number {
    return this.#slots.inFlight;
  }

  get peakInFlight(): number {
    return this.#jobs.peak;
  }

  /** Runs until a stop condition or stop(); resolves once every job is settled or requeued. */
  run(): Promise<DaemonResult> {
    this.#run ??= this.#runOnce();
    return this.#run;
  }

  /** First call: graceful (finish in-flight jobs). Second call: forced (kill and requeue now). */
  stop(reason: StopReason = "signal"): void {
    if (this.#stopReason !== undefined) {
      this.#forceStop();
      return;
    }
    this.#stopReason = reason;
    this.#stopWake.abort();
  }

  async #runOnce(): Promise<DaemonResult> {
    const o = this.#o;
    const leases = this.#leases = await startLeases(o.driver, this.#leaseTiming, this.events);
    this.events.emit("worker:started", {
      connection: o.driver.connectionName,
      queues: o.queues,
      concurrency: o.concurrency,
      isolatedConcurrency: o.isolatedConcurrency,
      ...(leases ? { lease: leases.info } : {}),
    });
    const lag = startLagWatchdog(this.events, this.#deps.inline, o.lagThresholdMs);
    const stopWatchingLimits = watchLimits({
      maxTime: o.maxTime,
      memory: o.memory,
      clock: o.clock,
      onLimit: (reason, detail) => {
        if (this.#stopReason !== undefined) return;
        this.#stopDetail = detail;
        this.stop(reason);
      },
    });
    const removeCatchers = catchStrayErrors((error) =>
      this.events.emit("worker:uncaught", { error, inlineJobs: this.#deps.inline.runningRefs() })
    );
    try {
      await this.#loop();
      await this.#shutdown();
      await this.#jobs.acksWritten(this.#stopReason === "store-lost", () => this.#force.abort());
    } finally {
      // Idle children end through stdin EOF, any left are killed: none outlives the daemon.
      await this.#pool.close();
      this.#deps.inlineDeadlines.clear();
      lag.stop();
      stopWatchingLimits();
      removeCatchers();
      await leases?.stop();
    }
    return this.#result(lag);
  }

  async #loop(): Promise<void> {
    const o = this.#o;
    let storeWoke = false;
    while (this.#stopReason === undefined) {
      // One turn of the event loop per reservation: timers, signals and the
      // watchdog keep running under load, and jobs that finish in the same turn
      // free their slots together, so they are refilled by one batch. Not when
      // the store has just woken us after a turn of its own (never when its wait
      // returned at once): a new job should start now (enqueue → start latency).
      if (!storeWoke) await nextTurn();
      storeWoke = false;
      if (this.#stopReason !== undefined) break;
      let limit = this.#reserveLimit();
      if (limit === 0) {
        await this.#slots.changed(this.#stopWake.signal);
        continue;
      }
      if (limit < o.concurrency * SMALL_REFILL_SHARE && this.#slots.inFlight > 0) {
        await abortableDelay(REFILL_WAIT_MS, this.#stopWake.signal);
        if (this.#stopReason !== undefined) break;
        limit = this.#reserveLimit();
        // Jobs waiting for an isolated child are work in hand: while they can keep every
        // child busy, a small refill waits on (each reservation is a store round trip).
        if (limit < o.concurrency * SMALL_REFILL_SHARE && this.#isolatedBacklogCoversChildren()) {
          continue;
        }
      }
      const queues = this.#health.reservable();
      let jobs: ReservedJob[] = [];
      if (queues.length > 0) {
        try {
          jobs = await o.driver.reserve(queues, limit);
          this.#health.succeeded(queues);
        } catch (error) {
          await this.#afterStoreFailure(error, queues, "reserve");
          continue;
        }
      }
      this.#leases?.hold(jobs);
      for (const job of jobs) this.#jobs.start(job);
      this.#workWait.finish();
      if (jobs.length > 0) {
        if (o.once) this.stop("once");
        continue;
      }
      if (o.once || o.stopWhenEmpty) {
        this.stop(o.once ? "once" : "empty");
        break;
      }
      if (o.stopWhenDrained && this.#slots.inFlight === 0) {
        let drained: boolean;
        try {
          drained = await this.#isDrained();
        } catch (error) {
          await this.#afterStoreFailure(error, [], "count jobs");
          continue;
        }
        if (drained) {
          this.stop("drained");
          break;
        }
      }
      storeWoke = await this.#waitForWork();
    }
    this.#workWait.finish();
  }

  /** Reports a failed store call, gives up when the store is lost, else waits as told. */
  async #afterStoreFailure(
    error: unknown,
    queues: readonly string[],
    operation: string,
  ): Promise<void> {
    const verdict = this.#health.failed(error, queues, operation);
    if (verdict.storeLost !== undefined && this.#stopReason === undefined) {
      this.#stopDetail = verdict.storeLost;
      this.stop("store-lost");
    }
    if (verdict.retryInMs > 0) await abortableDelay(verdict.retryInMs, this.#stopWake.signal);
  }

  /** Waits for the store to have work, a slot to change, or stop: true when the store ended it. */
  #waitForWork(): Promise<boolean> {
    // Set-aside queues are neither waited on nor left unchecked past their next try.
    const served = this.#health.served();
    const maxWaitMs = Math.min(this.#o.sleep * 1000, this.#health.msUntilRecheck() ?? Infinity);
    const storeWait = served.length === 0
      ? undefined
      : (signal: AbortSignal) => this.#o.driver.waitForJobs(served, maxWaitMs, signal);
    return this.#workWait.wait(storeWait, maxWaitMs);
  }

  #isolatedBacklogCoversChildren(): boolean {
    return this.#deps.isolatedSlots.waiting >= this.#o.isolatedConcurrency;
  }

  #reserveLimit(): number {
    let free = this.#o.concurrency - this.#slots.inFlight;
    if (this.#o.maxJobs > 0) free = Math.min(free, this.#o.maxJobs - this.#jobs.started);
    if (this.#o.once) free = Math.min(free, 1 - this.#jobs.started);
    return Math.max(0, free);
  }

  /** Nothing ready, delayed or reserved in the queues served (set-aside ones can't be reached). */
  async #isDrained(): Promise<boolean> {
    for (const queue of this.#health.served()) {
      const counts = await this.#o.driver.counts(queue);
      if (counts.ready + counts.delayed + counts.reserved > 0) return false;
    }
    return true;
  }

  async #shutdown(): Promise<void> {
    const reason = this.#stopReason ?? "aborted";
    this.events.emit("worker:stopping", {
      reason,
      inFlight: this.#jobs.size,
      ...(this.#stopDetail ? { detail: this.#stopDetail } : {}),
    });
    if (this.#jobs.size === 0) return;
    const deadline = setTimeout(() => this.#forceStop(), this.#o.shutdownTimeout * 1000);
    try {
      await this.#jobs.untilEmpty();
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Kills children and puts every still-running job back untouched (its attempt not counted). */
  #forceStop(): void {
    if (this.#force.signal.aborted) return;
    this.#stopReason ??= "forced";
    this.#stopWake.abort();
    this.#jobs.putBackRunning(() => this.#force.abort());
  }

  #result(lag: LagWatchdog): DaemonResult {
    const reason = this.#stopReason ?? "aborted";
    const result: DaemonResult = {
      reason,
      exitCode: EXIT_CODES[reason] ?? 0,
      processed: this.#jobs.processed,
      peakInFlight: this.#jobs.peak,
      maxLagMs: lag.maxLagMs,
    };
    this.events.emit("worker:stopped", {
      reason,
      exitCode: result.exitCode,
      processed: result.processed,
      maxLagMs: result.maxLagMs,
    });
    return result;
  }
}
