/**
 * The children of one job class (one child profile): started ahead of
 * demand, handed out one job at a time, retired after `maxJobsPerChild` jobs
 * or past the RSS threshold, ended when idle too long or unhealthy, and
 * never reused after anything but a clean result.
 *
 * A class whose children fail to start (its module throws at import, it
 * never reports ready, it dies before its first job) is backed off: for a
 * while no child of it is started, and each attempt that needs one fails at
 * once with the last start failure — one clear failure per attempt, never a
 * respawn loop.
 */
import type { ChildExitReason } from "../events.ts";
import type { ChildProfile } from "./child_profile.ts";
import type { ResolvedPoolOptions } from "./pool_options.ts";
import { PooledChild, type RunReport, type SupervisedFacts } from "./pooled_child.ts";
import { StartBackoff, type StartFailure } from "./start_backoff.ts";
import { IdleSweep } from "./idle_sweep.ts";
import type { SpawnLimiter } from "./spawn_limiter.ts";

export interface ClassPoolEvents {
  started(pid: number, startMs: number): void;
  exited(pid: number, jobsRun: number, reason: ChildExitReason, status: Deno.CommandStatus): void;
  startFailed(facts: SupervisedFacts, retryInMs: number): void;
}

export interface ClassPoolContext {
  readonly options: ResolvedPoolOptions;
  readonly limiter: SpawnLimiter;
  readonly killGraceMs: number;
  readonly rssPollMs: number;
  readonly events: ClassPoolEvents;
}

export type { StartFailure } from "./start_backoff.ts";

export type Lease =
  | { readonly child: PooledChild }
  | { readonly failure: StartFailure }
  | { readonly aborted: true };

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly signal?: AbortSignal;
  readonly onAbort: () => void;
}

const HEALTH_CHECK_DEADLINE_MS = 2_000;

export class ClassPool {
  readonly profile: ChildProfile;
  readonly #c: ClassPoolContext;
  readonly #children = new Set<PooledChild>();
  /** Idle children, most recently used last (it is handed out first; the oldest time out). */
  #idle: PooledChild[] = [];
  #waiters: Waiter[] = [];
  /** Children running what is known to be their last job. */
  readonly #onLastJob = new Set<PooledChild>();
  readonly #handedOut = new WeakSet<PooledChild>();
  readonly #endReasons = new Map<PooledChild, ChildExitReason>();
  readonly #backoff = new StartBackoff();
  #spawnTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #sweep: IdleSweep;
  #closed = false;

  constructor(profile: ChildProfile, context: ClassPoolContext) {
    this.profile = profile;
    this.#c = context;
    this.#sweep = new IdleSweep(
      context.options.idleTimeout,
      context.options.healthCheckInterval,
      {
        idle: () => this.#idle,
        retireIdle: (child) => this.#retire(child, "idle"),
        check: (child) => this.#check(child),
      },
    );
  }

  /** Children alive (any state). */
  get size(): number {
    return this.#children.size;
  }

  /** A ready child for one job, a start failure to report, or `aborted` (forced shutdown). */
  acquire(signal?: AbortSignal): Lease | Promise<Lease> {
    if (this.#closed || signal?.aborted) return { aborted: true };
    const idle = this.#takeIdle();
    if (idle) {
      this.#topUp();
      return { child: idle };
    }
    const remembered = this.#backoff.remembered();
    if (remembered && this.#count("starting") === 0) return { failure: remembered };
    return new Promise<Lease>((resolve) => {
      const waiter: Waiter = {
        resolve,
        ...(signal ? { signal } : {}),
        onAbort: () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve({ aborted: true });
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
      this.#topUp();
    });
  }

  /** Takes a child back after its job: reused after a clean result, retired otherwise. */
  release(child: PooledChild, report: RunReport): void {
    this.#onLastJob.delete(child);
    if (!report.reusable || this.#closed) {
      this.#topUp(); // it is dying on its own; its exit is handled there
      return;
    }
    if (child.jobsRun >= this.#c.options.maxJobsPerChild) {
      this.#retire(child, "retired");
    } else if (this.#overRss(child)) {
      this.#retire(child, "rss");
    } else {
      this.#makeAvailable(child);
      return;
    }
    this.#topUp();
  }

  /** Ends every child (idle ones through stdin EOF, the rest killed) and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#spawnTimer);
    this.#sweep.stop();
    for (const waiter of this.#waiters.splice(0)) this.#resolveWaiter(waiter, { aborted: true });
    const exits = [...this.#children].map((child) => {
      if (!this.#endReasons.has(child)) this.#endReasons.set(child, "shutdown");
      return child.state === "idle" ? child.close() : child.kill();
    });
    await Promise.all(exits);
  }

  #takeIdle(): PooledChild | undefined {
    for (let child = this.#idle.pop(); child; child = this.#idle.pop()) {
      if (child.state === "idle") {
        this.#handOut(child);
        return child;
      }
    }
    return undefined;
  }

  #handOut(child: PooledChild): void {
    this.#handedOut.add(child);
    if (child.jobsRun + 1 >= this.#c.options.maxJobsPerChild) this.#onLastJob.add(child);
  }

  /** To the first waiter, or onto the idle stack. */
  #makeAvailable(child: PooledChild): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#handOut(child);
      this.#resolveWaiter(waiter, { child });
      return;
    }
    this.#idle.push(child);
    if (!this.#closed) this.#sweep.start();
  }

  #resolveWaiter(waiter: Waiter, lease: Lease): void {
    waiter.signal?.removeEventListener("abort", waiter.onAbort);
    waiter.resolve(lease);
  }

  #overRss(child: PooledChild): boolean {
    const configured = this.#c.options.recycleRss;
    const limit = this.profile.memoryLimitMb;
    // A child that has grown near its class's memoryLimit would fail an innocent next job.
    const threshold = Math.min(
      configured > 0 ? configured : Infinity,
      limit === undefined ? Infinity : limit * 0.8,
    );
    if (threshold === Infinity) return false;
    const rss = child.rssMb();
    return rss === undefined || rss > threshold;
  }

  #retire(child: PooledChild, reason: ChildExitReason): void {
    this.#endReasons.set(child, reason);
    this.#idle = this.#idle.filter((c) => c !== child);
    void child.close();
  }

  #count(state: PooledChild["state"]): number {
    let n = 0;
    for (const child of this.#children) if (child.state === state) n++;
    return n;
  }

  /**
   * Starts children for the waiters that no starting child will serve, plus
   * spares so that `min` children stay warm after the waiters are served.
   */
  #topUp(): void {
    if (this.#closed || this.#spawnTimer !== undefined) return;
    if (this.#backoff.active) return this.#failWaitersDuringBackoff();
    const { min, max, maxJobsPerChild } = this.#c.options;
    const starting = this.#count("starting");
    let idle = 0;
    let busyReusable = 0;
    let alive = 0;
    for (const child of this.#children) {
      if (child.state === "closing" || child.state === "exited") continue;
      alive++;
      if (child.state === "idle" || child.state === "checking") idle++;
      else if (child.state === "busy" && !this.#onLastJob.has(child)) busyReusable++;
    }
    const waiting = this.#waiters.length;
    const forWaiters = Math.max(0, waiting - starting);
    const warmAfter = idle + busyReusable + Math.max(0, starting - waiting) +
      (maxJobsPerChild > 1 ? waiting : 0);
    const wanted = forWaiters + Math.max(0, min - warmAfter);
    for (let i = 0; i < Math.min(wanted, max - alive); i++) {
      const waitMs = this.#c.limiter.take();
      if (waitMs > 0) {
        this.#spawnTimer = setTimeout(() => {
          this.#spawnTimer = undefined;
          this.#topUp();
        }, waitMs);
        return;
      }
      if (!this.#spawn()) return;
    }
  }

  /** Starts one child; false when it could not be spawned (the class is then backed off). */
  #spawn(): boolean {
    let child: PooledChild;
    const startedAt = performance.now();
    try {
      child = new PooledChild({
        profile: this.profile,
        killGraceMs: this.#c.killGraceMs,
        rssPollMs: this.#c.rssPollMs,
        startTimeoutMs: this.#c.options.startTimeout * 1000,
      });
    } catch (error) {
      const message = `Could not start the child process for ${this.profile.jobName}: ${
        error instanceof Error ? error.message : String(error)
      }`;
      this.#startFailed(
        {
          verdict: { type: "protocol", reason: message },
          stderrTail: [],
          heapExhausted: false,
          peakRssMb: 0,
        },
        [],
      );
      return false;
    }
    this.#children.add(child);
    void child.ready.then((report) => {
      if (report.ok) {
        this.#backoff.succeeded();
        this.#c.events.started(child.pid, performance.now() - startedAt);
        if (!this.#closed) this.#makeAvailable(child);
      } else if (this.#closed) {
        // Killed by close() while it was starting (a warm spare): not a failed start.
        this.#endReasons.set(child, "shutdown");
      } else {
        this.#endReasons.set(child, "start-failed");
        this.#startFailed(report.facts, child.startOutput);
      }
    });
    void child.exited.then((status) => this.#onExit(child, status));
    return true;
  }

  #startFailed(facts: SupervisedFacts, startOutput: StartFailure["startOutput"]): void {
    this.#c.events.startFailed(facts, this.#backoff.failed(facts, startOutput));
    // This start's own failure goes to the attempt that has waited longest.
    const first = this.#waiters.shift();
    if (first) this.#resolveWaiter(first, { failure: { facts, note: "", startOutput } });
    this.#failWaitersDuringBackoff();
  }

  /** While backed off, attempts that no starting child will serve fail with the last start failure. */
  #failWaitersDuringBackoff(): void {
    const remembered = this.#backoff.remembered();
    if (!remembered) return;
    const unserved = this.#waiters.length - this.#count("starting");
    for (const waiter of this.#waiters.splice(0, Math.max(0, unserved))) {
      this.#resolveWaiter(waiter, { failure: remembered });
    }
  }

  #onExit(child: PooledChild, status: Deno.CommandStatus): void {
    this.#children.delete(child);
    this.#onLastJob.delete(child);
    this.#idle = this.#idle.filter((c) => c !== child);
    let reason = this.#endReasons.get(child);
    this.#endReasons.delete(child);
    if (reason === undefined && !this.#handedOut.has(child) && !this.#closed) {
      // Ready, then dead before any job (a module timer that exits, say): a failed start.
      reason = "start-failed";
      this.#startFailed(
        { status, duringStart: true, stderrTail: [], heapExhausted: false, peakRssMb: 0 },
        child.startOutput,
      );
    }
    this.#c.events.exited(child.pid, child.jobsRun, reason ?? "ended", status);
    if (this.#children.size === 0) this.#sweep.stop();
    // Idle children that timed out are not replaced: the class is not in use.
    if (reason !== "idle") this.#topUp();
  }

  /** A ping through the child's Worker; healthy = back to work, else it is killed. */
  #check(child: PooledChild): void {
    this.#idle = this.#idle.filter((c) => c !== child);
    void child.ping(HEALTH_CHECK_DEADLINE_MS).then((healthy) => {
      if (!healthy) {
        if (!this.#endReasons.has(child)) this.#endReasons.set(child, "unhealthy");
        return;
      }
      if (this.#closed) return;
      this.#makeAvailable(child);
    });
  }
}
