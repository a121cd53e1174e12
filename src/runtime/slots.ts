/** Counts jobs in hand and lets the scheduler wait for a free slot without polling. */
export class Slots {
  #inFlight = 0;
  #waiters: Array<() => void> = [];

  get inFlight(): number {
    return this.#inFlight;
  }

  take(): void {
    this.#inFlight++;
  }

  give(): void {
    this.#inFlight--;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next give(), or when `signal` aborts (then the waiter is dropped). */
  changed(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        signal?.removeEventListener("abort", drop);
        resolve();
      };
      const drop = () => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve();
      };
      signal?.addEventListener("abort", drop, { once: true });
      this.#waiters.push(wake);
    });
  }
}

/** A counting semaphore for isolated children. */
export class Semaphore {
  #free: number;
  #queue: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#queue.length;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#free++;
  }
}
