/**
 * Laravel's tables, and opening a queue database without breaking a Laravel app.
 *
 * The DDL is what Laravel's own stubs produce on SQLite (captured in
 * laravel-fixtures/01-schema.json from `sqlite_master`; the `cache` tables
 * follow Laravel 11's `create_cache_table` migration in the same grammar), so
 * `php artisan queue:failed` and friends work on a file KQueue created.
 *
 * Tables are created only in a file that KQueue itself creates, or when the
 * caller passes `create: true` (the explicit `create-tables` command):
 * creating them inside a Laravel app's database breaks its next
 * `php artisan migrate` ("table jobs already exists").
 */
import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import { DEFAULT_BUSY_DEADLINE_MS, retryWhileBusy, runImmediateTransaction } from "./busy.ts";
import { SqliteConnection } from "./connection.ts";
import { describeOpenError } from "./open_errors.ts";
import { requireDuration, requireTableName } from "./validate.ts";

export interface SqliteTableNames {
  readonly jobs: string;
  readonly failedJobs: string;
  readonly cache: string;
}

/** `jobs` + `jobs_queue_index` (Laravel's `queue:table` stub). */
export function jobsTableDdl(table: string): string[] {
  return [
    `CREATE TABLE "${table}" ("id" integer not null primary key autoincrement, "queue" varchar not null, "payload" text not null, "attempts" integer not null, "reserved_at" integer, "available_at" integer not null, "created_at" integer not null)`,
    `CREATE INDEX "${table}_queue_index" on "${table}" ("queue")`,
  ];
}

/** `failed_jobs` with its unique uuid (Laravel's `queue:failed-table` stub). */
export function failedJobsTableDdl(table: string): string[] {
  return [
    `CREATE TABLE "${table}" ("id" integer not null primary key autoincrement, "uuid" varchar not null, "connection" text not null, "queue" text not null, "payload" text not null, "exception" text not null, "failed_at" datetime default CURRENT_TIMESTAMP not null)`,
    `CREATE UNIQUE INDEX "${table}_uuid_unique" on "${table}" ("uuid")`,
  ];
}

/** Laravel 11's `cache` and `cache_locks` (the database cache store). */
export function cacheTableDdl(table: string): string[] {
  return [
    `CREATE TABLE "${table}" ("key" varchar not null, "value" text not null, "expiration" integer not null, primary key ("key"))`,
    `CREATE TABLE "${table}_locks" ("key" varchar not null, "owner" varchar not null, "expiration" integer not null, primary key ("key"))`,
  ];
}

const REQUIRED_COLUMNS = {
  jobs: ["id", "queue", "payload", "attempts", "reserved_at", "available_at", "created_at"],
  failedJobs: ["id", "uuid", "connection", "queue", "payload", "exception", "failed_at"],
} as const;

/** What creates each table in a Laravel app (for the "missing table" error). */
const ARTISAN_COMMAND = { jobs: "queue:table", failedJobs: "queue:failed-table" } as const;

export interface OpenSqliteDatabaseOptions {
  /**
   * Create missing tables even in an existing file. Only for the explicit
   * `create-tables` command: never on a Laravel app's database by default.
   * @default false
   */
  readonly create?: boolean;
  /** @default "jobs" */
  readonly jobsTable?: string;
  /** @default "failed_jobs" */
  readonly failedTable?: string;
  /** Laravel's database cache table (maxExceptions counters). @default "cache" */
  readonly cacheTable?: string;
  /** Give up on a locked file after this long. Milliseconds. @default 30000 */
  readonly busyDeadlineMs?: number;
  /**
   * Which of Laravel's tables must exist: both for the database queue; only
   * `failed_jobs` for a Redis queue's failed store (a Laravel 8 app on Redis
   * has no `jobs` table). @default "queue"
   */
  readonly requires?: "queue" | "failed-jobs";
}

/**
 * Opens `path` for the queue: busy_timeout 0 (waits are retried
 * asynchronously), WAL, synchronous=NORMAL. A missing file is created with
 * its folder and Laravel's tables; an existing file must already have the
 * `jobs` and `failed_jobs` tables unless `create` is set. A missing `cache`
 * table is reported as `hasCacheTable: false`, not thrown.
 */
export async function openSqliteDatabase(
  path: string,
  options: OpenSqliteDatabaseOptions = {},
): Promise<SqliteConnection> {
  const action = "open queue database";
  const tables: SqliteTableNames = {
    jobs: requireTableName(action, "jobsTable", options.jobsTable ?? "jobs"),
    failedJobs: requireTableName(action, "failedTable", options.failedTable ?? "failed_jobs"),
    cache: requireTableName(action, "cacheTable", options.cacheTable ?? "cache"),
  };
  const deadlineMs = requireDuration(
    action,
    "busyDeadlineMs",
    options.busyDeadlineMs ?? DEFAULT_BUSY_DEADLINE_MS,
  );
  const retry = <T>(what: string, operation: () => T) =>
    retryWhileBusy(operation, { path, action: what, deadlineMs });

  const inMemory = path === ":memory:";
  let created = inMemory;
  if (!inMemory && !(await fileExists(path))) created = await createDatabaseFile(path, tables);

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: 0 });
  } catch (error) {
    throw describeOpenError(path, error);
  }
  try {
    const rethrowAsOpen = (error: unknown): never => {
      throw describeOpenError(path, error);
    };
    const readSchema = () => retry("read the schema", () => tableNames(db)).catch(rethrowAsOpen);
    let present = await readSchema();
    if (inMemory || options.create) {
      await retry(
        "create tables",
        () => runImmediateTransaction(db, () => createMissingTables(db, tables)),
      ).catch(rethrowAsOpen);
      present = await readSchema();
    }
    // Checked before anything is written: a refused file is left exactly as it was.
    requireQueueTables(path, db, present, tables, options.requires ?? "queue");
    // Several daemons race here at start-up: switching to WAL needs the lock briefly.
    await retry("switch to WAL", () => db.exec("PRAGMA journal_mode=WAL")).catch(rethrowAsOpen);
    db.exec("PRAGMA synchronous=NORMAL");
    return new SqliteConnection({
      db,
      path,
      busyDeadlineMs: deadlineMs,
      created,
      hasCacheTable: present.has(tables.cache),
    });
  } catch (error) {
    db.close();
    throw error;
  }
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw describeOpenError(path, error);
  }
}

/**
 * Builds a complete database beside `path`, then hard-links it into place,
 * which fails if the name exists: a daemon starting at the same moment never
 * sees a half-made file, and of two racing creators exactly one wins.
 * Returns false when another process created `path` first.
 */
async function createDatabaseFile(path: string, tables: SqliteTableNames): Promise<boolean> {
  const building = `${path}.creating-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    const db = new DatabaseSync(building, { timeout: 0 });
    try {
      db.exec("PRAGMA journal_mode=WAL");
      runImmediateTransaction(db, () => createMissingTables(db, tables));
    } finally {
      db.close();
    }
    await Deno.link(building, path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw describeOpenError(path, error);
  } finally {
    await Deno.remove(building).catch(() => {});
  }
}

/** Returns the names of all tables (read only; no lock beyond a read snapshot). */
function tableNames(db: DatabaseSync): Set<string> {
  const rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  return new Set(rows.map((row) => String(row.name)));
}

/** Runs inside a write transaction, so two racing creators can't both create a table. */
function createMissingTables(db: DatabaseSync, tables: SqliteTableNames): void {
  const present = tableNames(db);
  const wanted: [string, string[]][] = [
    [tables.jobs, jobsTableDdl(tables.jobs)],
    [tables.failedJobs, failedJobsTableDdl(tables.failedJobs)],
    [tables.cache, cacheTableDdl(tables.cache)],
  ];
  for (const [name, ddl] of wanted) {
    if (present.has(name)) continue;
    for (const statement of ddl) db.exec(statement);
  }
}

function requireQueueTables(
  path: string,
  db: DatabaseSync,
  present: Set<string>,
  tables: SqliteTableNames,
  requires: "queue" | "failed-jobs",
): void {
  const required = requires === "queue" ? ["jobs", "failedJobs"] as const : ["failedJobs"] as const;
  const missing = required.filter((key) => !present.has(tables[key]));
  if (missing.length > 0) {
    const names = missing.map((key) => `'${tables[key]}'`).join(" or ");
    const artisan = missing.map((key) => `php artisan ${ARTISAN_COMMAND[key]}`).join(" && ");
    throw new Error(
      `Cannot open queue database '${path}' as it has no ${names} table: ` +
        `run ${artisan} && php artisan migrate, or deno task kqueue create-tables`,
    );
  }
  for (const key of required) {
    // Bindings: table name. Returns: its column names (none when the table is missing).
    const columns = new Set(
      db.prepare("SELECT name FROM pragma_table_info(?)").all(tables[key]).map((row) =>
        String(row.name)
      ),
    );
    const lacking = REQUIRED_COLUMNS[key].filter((column) => !columns.has(column));
    if (lacking.length > 0) {
      throw new Error(
        `Cannot open queue database '${path}' as table '${tables[key]}' lacks column(s) ` +
          `${lacking.join(", ")}: it does not have the layout of Laravel's ` +
          `php artisan ${ARTISAN_COMMAND[key]} table`,
      );
    }
  }
}
