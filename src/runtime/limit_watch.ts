/**
 * `--max-time` and `--memory`, checked every second (a timer can't hold more
 * than ~24.8 days).
 *
 * `--memory` means what it means to Laravel's worker: the memory the runtime
 * holds for the program (PHP's `memory_get_usage(true)`), here the daemon's
 * V8 heap plus the buffers it tracks (`heapTotal + external`). Not the RSS:
 * Deno's own baseline (~55–85 MB here, the lease supervisor's isolate
 * included) would stop a healthy daemon under Laravel's default of 128.
 */
import type { Clock } from "../clock.ts";

export interface LimitWatchOptions {
  /** Seconds; 0 = no limit. */
  readonly maxTime: number;
  /** MB of heap (`heapTotal + external`); 0 = no limit. */
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
    const usage = Deno.memoryUsage();
    const heapMb = (usage.heapTotal + usage.external) / 1024 / 1024;
    if (heapMb >= memory) {
      clearInterval(timer);
      const rssMb = Math.round(usage.rss / 1024 / 1024);
      onLimit("memory", `heap ${Math.round(heapMb)} MB ≥ --memory ${memory} MB (RSS ${rssMb} MB)`);
    }
  }, Math.min(1000, maxTime > 0 ? maxTime * 1000 : 1000));
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
