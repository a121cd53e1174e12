/**
 * The scheduler's wait for work, one at a time: the store's own wait (never
 * polling), ended early when a slot changes or the daemon stops. Its
 * listeners are ended by `finish()`, which the loop calls after starting the
 * jobs a wake-up brought: ending them costs tens of µs that would otherwise
 * sit between a wake-up and `handle()`.
 */
import { clearImmediate, setImmediate } from "node:timers";
import type { Slots } from "./slots.ts";
import { abortableDelay } from "./waiting.ts";

/** The reason waits are ended with: the default DOMException builds a stack (~70 µs a wake-up). */
const WAKE = "wake";

export class WorkWait {
  readonly #slots: Slots;
  readonly #stop: AbortSignal;
  #end: (() => void) | undefined;

  constructor(slots: Slots, stop: AbortSignal) {
    this.#slots = slots;
    this.#stop = stop;
  }

  /**
   * Runs `storeWait` (or, with nothing to wait on, a plain delay of
   * `maxWaitMs`) until it returns, a slot changes or stop: true when the
   * store ended it after the event loop had a turn (timers, signals). A
   * store wait that returns at once is not a wake-up: the caller must still
   * yield, or its loop would spin in microtasks.
   */
  async wait(
    storeWait: ((signal: AbortSignal) => Promise<void>) | undefined,
    maxWaitMs: number,
  ): Promise<boolean> {
    this.finish();
    const wait = new AbortController();
    const onStop = () => wait.abort(WAKE);
    this.#stop.addEventListener("abort", onStop, { once: true });
    void this.#slots.changed(wait.signal).then(() => wait.abort(WAKE));
    this.#end = () => {
      wait.abort(WAKE);
      this.#stop.removeEventListener("abort", onStop);
    };
    let turned = false;
    const turn = setImmediate(() => turned = true);
    if (storeWait) await storeWait(wait.signal);
    else await abortableDelay(maxWaitMs, wait.signal);
    clearImmediate(turn);
    return turned && !wait.signal.aborted;
  }

  /** Ends the listeners of the last wait, if not done yet. */
  finish(): void {
    const end = this.#end;
    this.#end = undefined;
    end?.();
  }
}
