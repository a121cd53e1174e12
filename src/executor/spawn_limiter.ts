/**
 * A token bucket on child spawns, shared by every job class of a daemon: at
 * most `ratePerSecond` spawns a second on average, `burst` at once. It is the
 * last line against a spawn loop (a class that fails to start is also backed
 * off on its own, see class_pool.ts).
 */
export class SpawnLimiter {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;

  constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#rate = ratePerSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#at = now();
  }

  /** Takes a token and returns 0, or returns the milliseconds until one is free (nothing taken). */
  take(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.#tokens) / this.#rate);
  }
}
