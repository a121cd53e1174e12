/**
 * Notices when the event loop was blocked: a timer that fires late by more
 * than the threshold means something ran synchronously that long. It names
 * the inline jobs that ran since the previous tick (the culprit is among them,
 * even if it has finished by the time the late timer fires).
 */
import type { EventBus, JobRef } from "../events.ts";

/** At most this many jobs are named in one lag report. */
const MAX_NAMED = 10;

/**
 * Which inline jobs ran since the watchdog last looked. A job whose
 * synchronous part of `handle()` was itself long is a known culprit; otherwise
 * the jobs running or just finished are the suspects (a block after an
 * `await` cannot be attributed more precisely from inside the process).
 */
export class InlineTracker {
  #running = new Map<object, JobRef>();
  #finished: JobRef[] = [];
  #culprits: JobRef[] = [];

  started(key: object, ref: JobRef): void {
    this.#running.set(key, ref);
  }

  /** The synchronous part of this job's handle() took `ms`. */
  ranSynchronously(key: object, ms: number, thresholdMs: number): void {
    const ref = this.#running.get(key);
    if (ref && ms >= thresholdMs && this.#culprits.length < MAX_NAMED) this.#culprits.push(ref);
  }

  finished(key: object): void {
    const ref = this.#running.get(key);
    if (!ref) return;
    this.#running.delete(key);
    this.#finished.push(ref);
    if (this.#finished.length > MAX_NAMED) this.#finished.shift();
  }

  /** Known culprits, else the suspects (running + recently finished); forgets what was reported. */
  takeRecent(): JobRef[] {
    const recent = this.#culprits.length > 0
      ? this.#culprits
      : [...[...this.#running.values()].slice(0, MAX_NAMED), ...this.#finished].slice(0, MAX_NAMED);
    this.#finished = [];
    this.#culprits = [];
    return recent;
  }

  get running(): number {
    return this.#running.size;
  }

  /** The inline jobs running now (at most a few named). */
  runningRefs(): JobRef[] {
    return [...this.#running.values()].slice(0, MAX_NAMED);
  }
}

export interface LagWatchdog {
  stop(): void;
  /** Largest lag seen, in ms. */
  readonly maxLagMs: number;
}

export function startLagWatchdog(
  events: EventBus,
  tracker: InlineTracker,
  thresholdMs: number,
  intervalMs = 50,
): LagWatchdog {
  let expected = performance.now() + intervalMs;
  let maxLagMs = 0;
  const check = () => {
    const now = performance.now();
    const lagMs = Math.round(now - expected);
    expected = now + intervalMs;
    if (lagMs > maxLagMs) maxLagMs = lagMs;
    const recent = tracker.takeRecent();
    if (lagMs >= thresholdMs) events.emit("worker:lag", { lagMs, inlineJobs: recent });
  };
  const timer = setInterval(check, intervalMs);
  Deno.unrefTimer(timer);
  return {
    // A last look: a block just before stopping would otherwise never be reported.
    stop: () => {
      clearInterval(timer);
      check();
    },
    get maxLagMs() {
      return maxLagMs;
    },
  };
}
