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

/** A start failure handed to an attempt; `note` says when it is a remembered one. */
export interface StartFailure {
  readonly facts: SupervisedFacts;
  readonly note: string;
  readonly startOutput: ReadonlyArray<["stdout" | "stderr", string]>;
}

export type Lease =
  | { readonly child: PooledChild }
  | { readonly failure: StartFailure }
  | { readonly aborted: true };

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly signal?: AbortSignal;
  readonly onAbort: () => void;
}

const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;
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
  readonly #lastChecked = new Map<PooledChild, number>();
  #failures = 0;
  #backoffUntil = 0;
  #lastFailure:
    | { facts: SupervisedFacts; at: number; startOutput: StartFailure["startOutput"] }
    | undefined;
  #spawnTimer: ReturnType<typeof setTimeout> | undefined;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(profile: ChildProfile, context: ClassPoolContext) {
    this.profile = profile;
    this.#c = context;
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
    const remembered = this.#rememberedFailure();
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
    clearInterval(this.#sweepTimer);
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
    this.#startSweeping();
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
    if (performance.now() < this.#backoffUntil) return this.#failWaitersDuringBackoff();
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
        this.#failures = 0;
        this.#lastFailure = undefined;
        this.#c.events.started(child.pid, performance.now() - startedAt);
        if (!this.#closed) this.#makeAvailable(child);
      } else {
        this.#endReasons.set(child, "start-failed");
        this.#startFailed(report.facts, child.startOutput);
      }
    });
    void child.exited.then((status) => this.#onExit(child, status));
    return true;
  }

  #startFailed(facts: SupervisedFacts, startOutput: StartFailure["startOutput"]): void {
    this.#failures++;
    const backoffMs = Math.min(FIRST_BACKOFF_MS * 2 ** (this.#failures - 1), MAX_BACKOFF_MS);
    const now = performance.now();
    this.#backoffUntil = now + backoffMs;
    this.#lastFailure = { facts, at: now, startOutput };
    this.#c.events.startFailed(facts, backoffMs);
    // This start's own failure goes to the attempt that has waited longest.
    const first = this.#waiters.shift();
    if (first) this.#resolveWaiter(first, { failure: { facts, note: "", startOutput } });
    this.#failWaitersDuringBackoff();
  }

  /** While backed off, attempts that no starting child will serve fail with the last start failure. */
  #failWaitersDuringBackoff(): void {
    const remembered = this.#rememberedFailure();
    if (!remembered) return;
    const unserved = this.#waiters.length - this.#count("starting");
    for (const waiter of this.#waiters.splice(0, Math.max(0, unserved))) {
      this.#resolveWaiter(waiter, { failure: remembered });
    }
  }

  #rememberedFailure(): StartFailure | undefined {
    const last = this.#lastFailure;
    const now = performance.now();
    if (!last || now >= this.#backoffUntil) return undefined;
    const ago = ((now - last.at) / 1000).toFixed(1);
    const next = ((this.#backoffUntil - now) / 1000).toFixed(1);
    return {
      facts: last.facts,
      note: ` (the last child of this job class failed to start ${ago} s ago; ` +
        `the next start is tried in ${next} s)`,
      startOutput: [],
    };
  }

  #onExit(child: PooledChild, status: Deno.CommandStatus): void {
    this.#children.delete(child);
    this.#onLastJob.delete(child);
    this.#lastChecked.delete(child);
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
    if (this.#children.size === 0) this.#stopSweeping();
    // Idle children that timed out are not replaced: the class is not in use.
    if (reason !== "idle") this.#topUp();
  }

  /** The idle and health checks run only while there are idle children. */
  #startSweeping(): void {
    if (this.#sweepTimer !== undefined || this.#closed) return;
    const { idleTimeout, healthCheckInterval } = this.#c.options;
    const periods = [idleTimeout, healthCheckInterval].filter((s) => s > 0).map((s) => s * 250);
    if (periods.length === 0) return;
    const everyMs = Math.max(25, Math.min(5_000, ...periods));
    this.#sweepTimer = setInterval(() => this.#sweep(), everyMs);
    Deno.unrefTimer(this.#sweepTimer);
  }

  #sweep(): void {
    const { idleTimeout, healthCheckInterval } = this.#c.options;
    const now = performance.now();
    for (const child of [...this.#idle]) {
      if (child.state !== "idle") continue;
      if (idleTimeout > 0 && now - child.idleSince >= idleTimeout * 1000) {
        this.#retire(child, "idle");
        continue;
      }
      const checked = Math.max(child.idleSince, this.#lastChecked.get(child) ?? 0);
      if (healthCheckInterval > 0 && now - checked >= healthCheckInterval * 1000) {
        this.#check(child);
      }
    }
    if (this.#idle.length === 0) this.#stopSweeping();
  }

  #stopSweeping(): void {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #check(child: PooledChild): void {
    this.#idle = this.#idle.filter((c) => c !== child);
    this.#lastChecked.set(child, performance.now());
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
