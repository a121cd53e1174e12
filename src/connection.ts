/**
 * Opens a Laravel queue connection by name: the driver, its failed-job store
 * and its `maxExceptions` counters. Drivers are imported lazily, so a module
 * that only defines jobs never loads a storage client.
 */
import type { Clock } from "./clock.ts";
import { type EnvReader, type QueueConfig, readQueueConfig } from "./config/env.ts";
import type { ExceptionCounter, FailedJobStore, QueueDriver } from "./drivers/driver.ts";

export interface QueueConnection {
  /** Laravel connection name (`database`). */
  readonly name: string;
  readonly driver: QueueDriver;
  readonly failed: FailedJobStore;
  /** Laravel's counters, or undefined when the store has no cache table (counted in memory then). */
  readonly exceptions?: ExceptionCounter;
  /** The connection's default queue (`DB_QUEUE`). */
  readonly defaultQueue: string;
  /** Human description for logs (`database (sqlite: /app/database/database.sqlite)`). */
  readonly description: string;
  /** Warnings to show once (e.g. a missing cache table). */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

export interface OpenConnectionOptions {
  /** Connection name. @default QUEUE_CONNECTION, else "database" */
  readonly name?: string;
  /** Overrides of the environment's config. */
  readonly config?: QueueConfig;
  readonly env?: EnvReader;
  /** Override `DB_DATABASE`. */
  readonly databasePath?: string;
  /** Override `retry_after` (how long an unextended reservation lasts), seconds. */
  readonly retryAfter?: number;
  /** Create missing tables even in an existing database (the `create-tables` command). @default false */
  readonly createTables?: boolean;
  readonly clock?: Clock;
}

export async function openConnection(
  options: OpenConnectionOptions = {},
): Promise<QueueConnection> {
  const config = options.config ?? readQueueConfig(options.env);
  const name = options.name ?? config.connection;
  if (name === "database") {
    const { openDatabaseConnection } = await import("./drivers/sqlite/open_database_connection.ts");
    return await openDatabaseConnection(name, config, options);
  }
  if (name === "redis") {
    const { openRedisConnection } = await import("./drivers/redis/open_redis_connection.ts");
    return await openRedisConnection(name, config, options);
  }
  if (name === "sync") {
    throw new Error(
      "QUEUE_CONNECTION=sync runs jobs inside the dispatching process, so there is no queue to work: use database",
    );
  }
  throw new Error(
    `Queue connection "${name}" is not supported yet: use database or redis (QUEUE_CONNECTION=database)`,
  );
}
