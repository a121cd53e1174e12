/** Small waiting helpers that never keep the process alive after an abort. */
import { setImmediate } from "node:timers";

/**
 * Resolves after the event loop has had a turn (timers, I/O, signals).
 * `setImmediate`: ~3 µs, where `setTimeout(0)` costs ~2 ms here.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Lets one waiter re-check a condition each time notify() is called. */
export class DrainWaiter {
  #wake: (() => void) | undefined;

  notify(): void {
    this.#wake?.();
  }

  async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    this.#wake = undefined;
  }
}
