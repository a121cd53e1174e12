/** `--max-time` and `--memory`, checked every second (a timer can't hold more than ~24.8 days). */
import type { Clock } from "../clock.ts";

export interface LimitWatchOptions {
  /** Seconds; 0 = no limit. */
  readonly maxTime: number;
  /** MB of RSS; 0 = no limit. */
  readonly memory: number;
  readonly clock: Clock;
  /** Called once a limit is passed, with what tripped it. */
  readonly onLimit: (reason: "max-time" | "memory", detail?: string) => void;
}

/** Starts the checks; returns their stopper. */
export function watchLimits({ maxTime, memory, clock, onLimit }: LimitWatchOptions): () => void {
  if (maxTime <= 0 && memory <= 0) return () => {};
  const startedAt = clock();
  const timer = setInterval(() => {
    if (maxTime > 0 && clock() - startedAt >= maxTime * 1000) {
      clearInterval(timer);
      onLimit("max-time");
      return;
    }
    if (memory <= 0) return;
    const rssMb = Deno.memoryUsage().rss / 1024 / 1024;
    if (rssMb >= memory) {
      clearInterval(timer);
      onLimit("memory", `RSS ${Math.round(rssMb)} MB ≥ --memory ${memory} MB`);
    }
  }, Math.min(1000, maxTime > 0 ? maxTime * 1000 : 1000));
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
