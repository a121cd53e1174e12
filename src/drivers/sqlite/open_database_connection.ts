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
