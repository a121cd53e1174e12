/**
 * `failed_jobs` as Laravel's `database-uuids` provider reads and writes it
 * (`DatabaseUuidFailedJobProvider`): `queue:failed`, `queue:forget`, and
 * `log` for drivers without a failed table of their own (Redis).
 */
import { bytesIfNul, wholeText } from "./payload_text.ts";
import type { StatementSync } from "node:sqlite";
import type {
  FailedJobEntry,
  FailedJobLogger,
  FailedJobRecord,
  FailedJobStore,
} from "../driver.ts";
import type { SqliteConnection } from "./connection.ts";
import { failedAtText } from "./time.ts";
import { upsertFailedJobSql } from "./queue_statements.ts";
import * as check from "./validate.ts";

export interface SqliteFailedJobStoreOptions {
  /** @default "failed_jobs" */
  readonly table?: string;
  /** The current time, for `failed_at`. Milliseconds since the epoch. @default () => Date.now() */
  readonly clock?: () => number;
}

interface FailedJobStatements {
  readonly list: StatementSync;
  readonly find: StatementSync;
  readonly forget: StatementSync;
  readonly upsert: StatementSync;
}

export class SqliteFailedJobStore implements FailedJobStore, FailedJobLogger {
  readonly #connection: SqliteConnection;
  readonly #table: string;
  readonly #clock: () => number;
  #prepared: FailedJobStatements | undefined;

  /** `connection` stays its opener's to close (e.g. `SqliteQueue.connection`). */
  constructor(connection: SqliteConnection, options: SqliteFailedJobStoreOptions = {}) {
    this.#connection = connection;
    this.#table = check.requireTableName(
      "open failed jobs",
      "table",
      options.table ?? "failed_jobs",
    );
    this.#clock = check.requireFunction(
      "open failed jobs",
      "clock",
      options.clock ?? (() => Date.now()),
    );
  }

  /**
   * Laravel's `DatabaseUuidFailedJobProvider::log`; a uuid already there (a
   * retried job failing again) updates that row. `failed_at` is now, UTC.
   */
  async log(entry: FailedJobEntry): Promise<void> {
    const action = "record a failed job";
    if (entry === null || typeof entry !== "object") {
      throw new TypeError(
        `Cannot ${action} as 'entry' must be an object: current value is ${entry}`,
      );
    }
    const row = {
      uuid: check.requireNonEmptyString(action, "uuid", entry.uuid),
      connection: check.requireNonEmptyString(action, "connection", entry.connection),
      queue: check.requireNonEmptyString(action, "queue", entry.queue),
      payload: check.requireString(action, "payload", entry.payload),
      exception: check.requireString(action, "exception", entry.exception),
    };
    await this.#connection.write(
      action,
      () => this.#statements().upsert.run({ ...row, failedAt: failedAtText(this.#clock()) }),
    );
  }

  /** Newest first, as `queue:failed` lists them. */
  list(): Promise<FailedJobRecord[]> {
    return this.#connection.read(
      "list failed jobs",
      () => this.#statements().list.all().map(toRecord),
    );
  }

  async find(uuid: string): Promise<FailedJobRecord | undefined> {
    check.requireNonEmptyString("find a failed job", "uuid", uuid);
    const row = await this.#connection.read(
      "find a failed job",
      () => this.#statements().find.get({ uuid }),
    );
    return row === undefined ? undefined : toRecord(row);
  }

  /** Deletes the row; true when there was one (Laravel's `forget`). */
  async forget(uuid: string): Promise<boolean> {
    check.requireNonEmptyString("forget a failed job", "uuid", uuid);
    const changes = await this.#connection.write(
      "forget a failed job",
      () => this.#statements().forget.run({ uuid }).changes,
    );
    return Number(changes) > 0;
  }

  #statements(): FailedJobStatements {
    const table = `"${this.#table}"`;
    const db = this.#connection.db;
    return this.#prepared ??= {
      /** Bindings: none. Returns: every row, newest (highest id) first. */
      list: db.prepare(`SELECT *, ${WHOLE_TEXT} FROM ${table} ORDER BY id DESC`),
      /** Bindings: uuid. Returns: its row, or undefined. */
      find: db.prepare(`SELECT *, ${WHOLE_TEXT} FROM ${table} WHERE uuid = :uuid LIMIT 1`),
      /** Bindings: uuid. Returns: run() → changes = 1 when the row existed, else 0. */
      forget: db.prepare(`DELETE FROM ${table} WHERE uuid = :uuid`),
      /** The queue's own failure upsert (see `upsertFailedJobSql`). */
      upsert: db.prepare(upsertFailedJobSql(table)),
    };
  }
}

/** Payload and exception may hold a NUL (see payload_text.ts). */
const WHOLE_TEXT = `${bytesIfNul("payload")}, ${bytesIfNul("exception")}`;

function toRecord(row: Record<string, unknown>): FailedJobRecord {
  return {
    id: Number(row.id),
    uuid: String(row.uuid),
    connection: String(row.connection),
    queue: String(row.queue),
    payload: wholeText(row, "payload"),
    exception: wholeText(row, "exception"),
    failedAt: String(row.failed_at),
  };
}
