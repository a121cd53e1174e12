/**
 * The idle checks of a job class's pool, on one interval that runs only while
 * the pool has idle children: a child idle past `idleTimeout` is ended, and
 * one idle past `healthCheckInterval` since its last job or check is pinged.
 */
import type { PooledChild } from "./pooled_child.ts";

export interface SweepTarget {
  /** The idle children (a snapshot is taken). */
  idle(): readonly PooledChild[];
  /** Ends a child that sat idle past the idle timeout. */
  retireIdle(child: PooledChild): void;
  /** Runs a health check on an idle child. */
  check(child: PooledChild): void;
}

export class IdleSweep {
  readonly #idleTimeoutMs: number;
  readonly #healthEveryMs: number;
  readonly #target: SweepTarget;
  readonly #lastChecked = new WeakMap<PooledChild, number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Seconds, 0 = off, as in the pool options. */
  constructor(idleTimeout: number, healthCheckInterval: number, target: SweepTarget) {
    this.#idleTimeoutMs = idleTimeout * 1000;
    this.#healthEveryMs = healthCheckInterval * 1000;
    this.#target = target;
  }

  /** Starts the interval if it is not running (and something is to be checked). */
  start(): void {
    if (this.#timer !== undefined) return;
    const periods = [this.#idleTimeoutMs, this.#healthEveryMs].filter((ms) => ms > 0);
    if (periods.length === 0) return;
    // A quarter of the shortest period: an idle child ends at most 25 % past its timeout.
    const everyMs = Math.max(25, Math.min(5_000, ...periods.map((ms) => ms / 4)));
    this.#timer = setInterval(() => this.#sweep(), everyMs);
    Deno.unrefTimer(this.#timer);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    const now = performance.now();
    const idle = this.#target.idle();
    for (const child of [...idle]) {
      if (child.state !== "idle") continue;
      if (this.#idleTimeoutMs > 0 && now - child.idleSince >= this.#idleTimeoutMs) {
        this.#target.retireIdle(child);
        continue;
      }
      const checked = Math.max(child.idleSince, this.#lastChecked.get(child) ?? 0);
      if (this.#healthEveryMs > 0 && now - checked >= this.#healthEveryMs) {
        this.#lastChecked.set(child, now);
        this.#target.check(child);
      }
    }
    if (this.#target.idle().length === 0) this.stop();
  }
}
