/**
 * Notices when the event loop was blocked: a timer that fires late by more
 * than the threshold means something ran synchronously that long. It names
 * the inline jobs that ran since the previous tick (the culprit is among them,
 * even if it has finished by the time the late timer fires).
 */
import type { EventBus, JobRef } from "../events.ts";

/** Which inline jobs ran since the watchdog last looked. */
export class InlineTracker {
  #running = new Map<object, JobRef>();
  #finished: JobRef[] = [];

  started(key: object, ref: JobRef): void {
    this.#running.set(key, ref);
  }

  finished(key: object): void {
    const ref = this.#running.get(key);
    if (!ref) return;
    this.#running.delete(key);
    this.#finished.push(ref);
  }

  /** Running now plus finished since the last call; forgets the finished ones. */
  takeRecent(): JobRef[] {
    const recent = [...this.#running.values(), ...this.#finished];
    this.#finished = [];
    return recent;
  }

  get running(): number {
    return this.#running.size;
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
