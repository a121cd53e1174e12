/**
 * Settling a reservation (ack, release, requeue, fail) must survive a
 * dropped connection: each of those scripts is idempotent, so a call that
 * failed because the connection went away is simply run again once it is
 * back. Redis' own refusals are not retried (except the transient ones).
 */
import { isConnectionError, isTransientReply, type RedisLink } from "./redis_link.ts";

/** Wait before retrying a transient reply (LOADING, BUSY…). Milliseconds. */
const TRANSIENT_RETRY_MS = 100;

/**
 * Runs `operation` until it succeeds, waiting for the connection to come back
 * between tries. Rejects with a one-line error when Redis refused it, or once
 * the link is closed.
 */
export async function retryUntilSettled<T>(
  link: RedisLink,
  action: string,
  operation: () => Promise<T>,
  onRetry?: (error: unknown) => void,
): Promise<T> {
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (isTransientReply(error) && !link.closed) {
        onRetry?.(error);
        await new Promise((resolve) => setTimeout(resolve, TRANSIENT_RETRY_MS));
        continue;
      }
      if (!isConnectionError(error) || link.closed) throw link.describe(error, action);
      onRetry?.(error);
      try {
        await link.whenReady();
      } catch {
        throw link.describe(error, action);
      }
    }
  }
}
