/**
 * The `redis` queue connection: Laravel's Redis queue, with failed jobs in
 * the database (`failed_jobs` of `DB_DATABASE`, as Laravel keeps them) and
 * maxExceptions counters where `CACHE_STORE` says (Laravel 11's default,
 * `database`: the `cache` table of `DB_DATABASE`; `redis`: its Redis cache store).
 */
import type { QueueConfig } from "../../config/env.ts";
import type { OpenConnectionOptions, QueueConnection } from "../../connection.ts";
import type { ExceptionCounter } from "../driver.ts";
import { openSqliteDatabase } from "../sqlite/schema.ts";
import { SqliteExceptionCounter } from "../sqlite/sqlite_exception_counter.ts";
import { SqliteFailedJobStore } from "../sqlite/sqlite_failed_store.ts";
import { describeEndpoint, endpointsFromConfig } from "./redis_endpoint.ts";
import { RedisExceptionCounter } from "./redis_exception_counter.ts";
import { RedisQueue } from "./redis_queue.ts";

export async function openRedisConnection(
  name: string,
  config: QueueConfig,
  options: OpenConnectionOptions,
): Promise<QueueConnection> {
  const endpoints = endpointsFromConfig(config.redis);
  const path = options.databasePath ?? config.database.path;
  // Created with Laravel's tables when missing, as the database connection does.
  const sqlite = await openSqliteDatabase(path, {
    jobsTable: config.database.table,
    failedTable: config.failedTable,
    create: options.createTables ?? false,
    requires: "failed-jobs", // a Laravel 8 app on Redis has failed_jobs but no jobs table
  });
  const clock = options.clock ? { clock: options.clock } : {};
  const failed = new SqliteFailedJobStore(sqlite, { table: config.failedTable, ...clock });
  let queue: RedisQueue;
  try {
    queue = await RedisQueue.open({
      endpoint: endpoints.queue,
      prefix: config.redis.prefix,
      connectionName: name,
      retryAfter: options.retryAfter ?? config.redis.retryAfter,
      failedJobLogger: failed,
      ...clock,
    });
  } catch (error) {
    sqlite.close();
    throw error;
  }
  const warnings: string[] = [];
  let exceptions: ExceptionCounter | undefined;
  let redisCounter: RedisExceptionCounter | undefined;
  if (config.cacheStore === "redis") {
    exceptions = redisCounter = new RedisExceptionCounter({
      endpoint: endpoints.cache,
      prefix: config.redis.prefix + config.cachePrefix,
    });
  } else if (config.cacheStore === "database" && sqlite.hasCacheTable) {
    exceptions = new SqliteExceptionCounter(sqlite, { prefix: config.cachePrefix, ...clock });
  } else if (config.cacheStore === "database") {
    warnings.push(
      `'${path}' has no 'cache' table, so maxExceptions is counted in this process only ` +
        `(Laravel workers keep their own count): run php artisan cache:table ` +
        `(Laravel 11: make:cache-table) && php artisan migrate, or deno task kqueue create-tables`,
    );
  } else {
    warnings.push(
      `CACHE_STORE=${config.cacheStore} is not supported for maxExceptions counters, so they ` +
        `are counted in this process only (Laravel workers keep their own count): ` +
        `use CACHE_STORE=database or CACHE_STORE=redis`,
    );
  }
  const prefix = config.redis.prefix === "" ? "no key prefix" : `prefix "${config.redis.prefix}"`;
  return {
    name,
    driver: queue,
    failed,
    ...(exceptions ? { exceptions } : {}),
    defaultQueue: config.redis.queue,
    description: `${name} (redis: ${describeEndpoint(endpoints.queue)} db ${endpoints.queue.db}` +
      `${endpoints.queue.tls ? " tls" : ""}, ${prefix}; failed jobs: sqlite ${path})`,
    warnings,
    close: async () => {
      try {
        await queue.close();
      } finally {
        redisCounter?.close();
        sqlite.close();
      }
    },
  };
}
