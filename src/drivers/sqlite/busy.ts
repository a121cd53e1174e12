/**
 * Retrying "database is locked" without freezing the event loop.
 *
 * node:sqlite's `busy_timeout` waits block the whole event loop (measured: no
 * timer fired during a 1.8 s wait), so connections are opened with a busy
 * timeout of 0 and a busy error is retried here, asynchronously, with jittered
 * exponential backoff. SQLite's lock is unfair (one process can be starved
 * completely), hence the jitter and the deadline.
 */
import type { DatabaseSync } from "node:sqlite";
import { StoreUnreachableError } from "../../errors.ts";

/** First backoff step. Milliseconds. */
export const BUSY_INITIAL_DELAY_MS = 1;
/** Largest backoff step. Milliseconds. */
export const BUSY_MAX_DELAY_MS = 50;
/** How long a locked database is retried before giving up. Milliseconds. */
export const DEFAULT_BUSY_DEADLINE_MS = 30_000;

/** SQLite's primary result code for SQLITE_BUSY (extended codes keep it in the low byte). */
const SQLITE_BUSY = 5;

/** The database stayed locked by another connection past the deadline. */
export class SqliteBusyError extends StoreUnreachableError {
  override name = "SqliteBusyError";
}

export interface BusyRetryOptions {
  /** The database file, named in the give-up error. */
  readonly path: string;
  /** What was being attempted, as a verb phrase ("reserve jobs"), for the give-up error. */
  readonly action: string;
  /** Give up after this long. Milliseconds. */
  readonly deadlineMs: number;
  /** Called before each retry (for counters). */
  readonly onBusy?: () => void;
}

/**
 * Whether `error` is SQLite's SQLITE_BUSY. node:sqlite throws a plain Error
 * with `code: "ERR_SQLITE_ERROR"`; `errcode` is present on some call paths
 * (`StatementSync`) and missing on others (`exec`), so the message decides then.
 */
export function isBusyError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  if (code !== "ERR_SQLITE_ERROR") return false;
  if (typeof errcode === "number") return (errcode & 0xff) === SQLITE_BUSY;
  return error.message.startsWith("database is locked");
}

/**
 * Runs `operation` (synchronous SQLite work) and retries it while the
 * database is busy. The operation must leave no transaction open when it
 * throws (see `runImmediateTransaction`), and must have no side effects
 * outside the database, since it may run several times.
 */
export async function retryWhileBusy<T>(
  operation: () => T,
  options: BusyRetryOptions,
): Promise<T> {
  const startedAt = performance.now();
  let step = BUSY_INITIAL_DELAY_MS;
  for (;;) {
    try {
      return operation();
    } catch (error) {
      if (!isBusyError(error)) throw error;
      const elapsed = performance.now() - startedAt;
      if (elapsed >= options.deadlineMs) {
        throw new SqliteBusyError(
          `Cannot ${options.action} as SQLite file '${options.path}' stayed locked by another ` +
            `connection for ${Math.round(elapsed)} ms (busyDeadlineMs is ${options.deadlineMs}): ` +
            `another process holds a long write transaction`,
          { cause: error },
        );
      }
      options.onBusy?.();
      // Jitter in [step/2, 3*step/2): processes that collided don't collide again in lockstep.
      const wait = Math.min(step / 2 + Math.random() * step, options.deadlineMs - elapsed);
      await new Promise((resolve) => setTimeout(resolve, wait));
      step = Math.min(step * 2, BUSY_MAX_DELAY_MS);
    }
  }
}

/**
 * Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, taking the write lock up
 * front so the body never meets a busy error halfway. Any error (busy at
 * BEGIN or COMMIT included) rolls back, so a retry starts from a clean slate.
 */
export function runImmediateTransaction<T>(db: DatabaseSync, body: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = body();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // The original error matters more; SQLite rolls back on close anyway.
      }
    }
    throw error;
  }
}
