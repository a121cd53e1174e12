/**
 * A deadline that moves with every job and is rarely reached. One timer stays
 * armed at or before the deadline and re-arms itself when it fires early, so
 * setting a later deadline (the next job's) costs no timer call: in Deno,
 * a setTimeout + clearTimeout per job costs ~35 µs of event-loop work, a
 * tenth of a pooled no-op job. Used on both sides of a pooled child.
 */
export class LazyDeadline {
  readonly #onExpire: () => void;
  /** When it expires (performance.now() ms); Infinity = not set. */
  #at = Infinity;
  #armedFor = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  /** Expires `ms` from now, replacing any earlier setting. */
  set(ms: number): void {
    this.#at = performance.now() + ms;
    if (this.#armedFor > this.#at) this.#arm();
  }

  /** No deadline (the armed timer, if any, fires later and finds nothing to do). */
  clear(): void {
    this.#at = Infinity;
  }

  /** Clears it for good: no timer is left behind. */
  dispose(): void {
    this.#at = Infinity;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#armedFor = this.#at;
    this.#timer = setTimeout(this.#fire, Math.max(0, this.#at - performance.now()));
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    if (this.#at === Infinity) return;
    // Timers may fire a fraction of a millisecond early.
    if (performance.now() >= this.#at - 1) {
      this.#at = Infinity;
      this.#onExpire();
    } else {
      this.#arm();
    }
  };
}
