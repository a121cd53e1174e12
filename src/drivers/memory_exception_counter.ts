/** `maxExceptions` counters kept in this process: the fallback when the store has no cache table. */
import type { ExceptionCounter } from "./driver.ts";

export class MemoryExceptionCounter implements ExceptionCounter {
  #counts = new Map<string, number>();

  increment(uuid: string): Promise<number> {
    const next = (this.#counts.get(uuid) ?? 0) + 1;
    this.#counts.set(uuid, next);
    return Promise.resolve(next);
  }

  reset(uuid: string): Promise<void> {
    this.#counts.delete(uuid);
    return Promise.resolve();
  }
}
