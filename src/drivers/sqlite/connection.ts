/**
 * One open SQLite file, shared by the queue, the failed-job store and the
 * exception counter of a process. Every access goes through `write` (an
 * IMMEDIATE transaction) or `read`, both retried asynchronously while the
 * file is locked. Opened by `openSqliteDatabase` (schema.ts).
 */
import type { DatabaseSync } from "node:sqlite";
import { retryWhileBusy, runImmediateTransaction } from "./busy.ts";

export interface SqliteConnectionInit {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly busyDeadlineMs: number;
  readonly created: boolean;
  readonly hasCacheTable: boolean;
}

export class SqliteConnection {
  /** The node:sqlite handle (busy_timeout 0). Use `write`/`read` around it. */
  readonly db: DatabaseSync;
  /** The file, as given to `openSqliteDatabase`. */
  readonly path: string;
  /** How long a locked file is retried before an operation fails. Milliseconds. */
  readonly busyDeadlineMs: number;
  /** True when this open created the file (and its tables). */
  readonly created: boolean;
  /**
   * Whether Laravel's `cache` table exists (maxExceptions counters live there).
   * Missing in an existing database is not fatal: the caller warns.
   */
  readonly hasCacheTable: boolean;
  #busyRetries = 0;
  #closed = false;

  constructor(init: SqliteConnectionInit) {
    this.db = init.db;
    this.path = init.path;
    this.busyDeadlineMs = init.busyDeadlineMs;
    this.created = init.created;
    this.hasCacheTable = init.hasCacheTable;
  }

  /** How many times an operation met a locked file and was retried (for logs and tests). */
  get busyRetries(): number {
    return this.#busyRetries;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `body` in one `BEGIN IMMEDIATE` transaction, retried while the file
   * is locked. `body` may run more than once: keep side effects out of it.
   * `action` names the work in errors ("reserve jobs").
   */
  write<T>(action: string, body: () => T): Promise<T> {
    return this.#retry(action, () => runImmediateTransaction(this.db, body));
  }

  /** Runs a read outside any transaction, retried while the file is busy. */
  read<T>(action: string, body: () => T): Promise<T> {
    return this.#retry(action, body);
  }

  /** Closes the handle (prepared statements are finalized with it). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.db.close();
  }

  #retry<T>(action: string, operation: () => T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new Error(`Cannot ${action} as the SQLite connection to '${this.path}' is closed`),
      );
    }
    return retryWhileBusy(operation, {
      path: this.path,
      action,
      deadlineMs: this.busyDeadlineMs,
      onBusy: () => this.#busyRetries++,
    });
  }
}
