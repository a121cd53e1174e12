/**
 * `failed_jobs` as Laravel's `database-uuids` provider reads it
 * (`DatabaseUuidFailedJobProvider`): `queue:failed`, `queue:forget`.
 */
import type { StatementSync } from "node:sqlite";
import type { FailedJobRecord, FailedJobStore } from "../driver.ts";
import type { SqliteConnection } from "./connection.ts";
import * as check from "./validate.ts";

export interface SqliteFailedJobStoreOptions {
  /** @default "failed_jobs" */
  readonly table?: string;
}

interface FailedJobStatements {
  readonly list: StatementSync;
  readonly find: StatementSync;
  readonly forget: StatementSync;
}

export class SqliteFailedJobStore implements FailedJobStore {
  readonly #connection: SqliteConnection;
  readonly #table: string;
  #prepared: FailedJobStatements | undefined;

  /** `connection` stays its opener's to close (e.g. `SqliteQueue.connection`). */
  constructor(connection: SqliteConnection, options: SqliteFailedJobStoreOptions = {}) {
    this.#connection = connection;
    this.#table = check.requireTableName(
      "open failed jobs",
      "table",
      options.table ?? "failed_jobs",
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
      list: db.prepare(`SELECT * FROM ${table} ORDER BY id DESC`),
      /** Bindings: uuid. Returns: its row, or undefined. */
      find: db.prepare(`SELECT * FROM ${table} WHERE uuid = :uuid LIMIT 1`),
      /** Bindings: uuid. Returns: run() → changes = 1 when the row existed, else 0. */
      forget: db.prepare(`DELETE FROM ${table} WHERE uuid = :uuid`),
    };
  }
}

function toRecord(row: Record<string, unknown>): FailedJobRecord {
  return {
    id: Number(row.id),
    uuid: String(row.uuid),
    connection: String(row.connection),
    queue: String(row.queue),
    payload: String(row.payload),
    exception: String(row.exception),
    failedAt: String(row.failed_at),
  };
}
