/**
 * A settle (ack, release, fail) that the store refused is written again,
 * with backoff, until it is written, found lost, or the queue closes: a
 * dropped ack would run a finished job again once its lease lapsed (and
 * fail it, with tries=1, as attempted too many times). Each failure is
 * reported as a `store:error`, whose log line says it is being retried.
 * Dropped connections are replayed by the drivers themselves; this covers
 * the store's own refusals (Redis NOREPLICAS, OOM, MISCONF, a key of the
 * wrong type; SQLite disk full, read-only) until they clear.
 */
import type { ProcessorDeps } from "./processor_deps.ts";
import { abortableDelay } from "./waiting.ts";

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;

export function settleWithRetry<T>(
  deps: ProcessorDeps,
  operation: "ack" | "release" | "fail",
  write: () => Promise<T>,
): Promise<T> {
  // The first try as it is (one per job, on the hot path); the loop only after a failure.
  return write().catch((error) => retryAfter(error, deps, operation, write));
}

async function retryAfter<T>(
  error: unknown,
  deps: ProcessorDeps,
  operation: "ack" | "release" | "fail",
  write: () => Promise<T>,
): Promise<T> {
  for (let failures = 0;; failures++) {
    // A bad call, the queue closing, a forced stop: the job comes back after its lease.
    if (!isRetriable(error) || deps.forceSignal.aborted) throw error;
    deps.events.emit("store:error", { operation, error: error as Error });
    await abortableDelay(Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** failures), deps.forceSignal);
    try {
      return await write();
    } catch (next) {
      error = next;
    }
  }
}

function isRetriable(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError) return false;
  return !(error instanceof Error && error.message.includes("as the queue is closed"));
}
