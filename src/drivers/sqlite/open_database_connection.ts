/**
 * The `database` queue connection on SQLite: the queue, its failed-job store
 * and its maxExceptions counters on one shared file handle.
 */
import type { QueueConfig } from "../../config/env.ts";
import type { OpenConnectionOptions, QueueConnection } from "../../connection.ts";
import { SqliteExceptionCounter } from "./sqlite_exception_counter.ts";
import { SqliteFailedJobStore } from "./sqlite_failed_store.ts";
import { SqliteQueue } from "./sqlite_queue.ts";

export async function openDatabaseConnection(
  name: string,
  config: QueueConfig,
  options: OpenConnectionOptions,
): Promise<QueueConnection> {
  const path = options.databasePath ?? config.database.path;
  await checkDatabasePath(path);
  const queue = await SqliteQueue.open({
    path,
    connectionName: name,
    table: config.database.table,
    failedTable: config.failedTable,
    retryAfter: options.retryAfter ?? config.database.retryAfter,
    createTables: options.createTables ?? false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  try {
    const counter = new SqliteExceptionCounter(queue.connection, {
      prefix: config.cachePrefix,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const hasCacheTable = await counter.available();
    const warnings = hasCacheTable ? [] : [
      `'${path}' has no 'cache' table, so maxExceptions is counted in this process only ` +
      `(Laravel workers keep their own count): run php artisan cache:table ` +
      `(Laravel 11: make:cache-table) && php artisan migrate, or deno task kqueue create-tables`,
    ];
    return {
      name,
      driver: queue,
      failed: new SqliteFailedJobStore(queue.connection, { table: config.failedTable }),
      ...(hasCacheTable ? { exceptions: counter } : {}),
      defaultQueue: config.database.queue,
      description: `${name} (sqlite: ${path})`,
      warnings,
      close: () => queue.close(),
    };
  } catch (error) {
    await queue.close();
    throw error;
  }
}

/**
 * A mistyped DB_DATABASE must not silently start an empty queue somewhere
 * else: a new file is created only in a folder that exists, or as the
 * default `database/database.sqlite` under the working directory.
 */
async function checkDatabasePath(path: string): Promise<void> {
  if (path === ":memory:" || path.endsWith("/:memory:")) {
    throw new Error(
      "DB_DATABASE=:memory: is private to one process, so no other process could dispatch to it: point DB_DATABASE at a file",
    );
  }
  if (await exists(path)) return;
  const folder = path.slice(0, path.lastIndexOf("/")) || "/";
  const isDefault = path === `${Deno.cwd()}/database/database.sqlite`;
  if (!isDefault && !(await exists(folder))) {
    throw new Error(
      `DB_DATABASE=${path}: the folder ${folder} does not exist; create it (a new queue file is made there) or fix DB_DATABASE`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
