/**
 * Laravel's `maxExceptions` counters in its database cache store, so KQueue
 * and Laravel workers count the same exceptions of a job.
 *
 * Layout (`Illuminate\Cache\DatabaseStore`): row `key` = cache prefix +
 * `job-exceptions:<uuid>`, `value` = PHP `serialize()` of the count (`i:3;`),
 * `expiration` = unix seconds. The worker does, per exception:
 * `if (!get(key)) put(key, 0, now + 1 day); increment(key)`; an expired row
 * reads as missing, and `increment` keeps the row's expiration.
 */
import type { StatementSync } from "node:sqlite";
import type { ExceptionCounter } from "../driver.ts";
import type { SqliteConnection } from "./connection.ts";
import { unixSeconds } from "./time.ts";
import * as check from "./validate.ts";

/** Laravel's `Carbon::now()->addDay()`. Seconds. */
const COUNTER_TTL_SECONDS = 86_400;

export interface SqliteExceptionCounterOptions {
  /**
   * Laravel's cache key prefix (`config('cache.prefix')`; Laravel 11:
   * `Str::slug(APP_NAME, '_').'_cache_'`, so `laravel_cache_` for the default app name).
   * @default "laravel_cache_"
   */
  readonly prefix?: string;
  /** Laravel's database cache table. @default "cache" */
  readonly table?: string;
  /** The current time. Milliseconds since the epoch. @default () => Date.now() */
  readonly clock?: () => number;
}

interface CounterStatements {
  readonly read: StatementSync;
  readonly put: StatementSync;
  readonly setValue: StatementSync;
  readonly forget: StatementSync;
}

export class SqliteExceptionCounter implements ExceptionCounter {
  readonly #connection: SqliteConnection;
  readonly #prefix: string;
  readonly #table: string;
  readonly #clock: () => number;
  #prepared: CounterStatements | undefined;

  /** `connection` stays its opener's to close (e.g. `SqliteQueue.connection`). */
  constructor(connection: SqliteConnection, options: SqliteExceptionCounterOptions = {}) {
    const action = "count job exceptions";
    this.#connection = connection;
    this.#prefix = check.requireString(action, "prefix", options.prefix ?? "laravel_cache_");
    this.#table = check.requireTableName(action, "table", options.table ?? "cache");
    this.#clock = check.requireFunction(action, "clock", options.clock ?? (() => Date.now()));
  }

  /** Whether the cache table exists (when not, use an in-memory counter and warn). */
  available(): Promise<boolean> {
    // Bindings: table name. Returns: a row when the table exists.
    return this.#connection.read("look for the cache table", () =>
      this.#connection.db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        .get(this.#table) !== undefined);
  }

  /** Adds one in one transaction and returns the new count; a fresh counter lives one day. */
  increment(uuid: string): Promise<number> {
    const key = this.#key("count a job exception", uuid);
    return this.#run("count a job exception", (statements) => {
      const now = unixSeconds(this.#clock());
      const row = statements.read.get({ key });
      const live = row !== undefined && now < Number(row.expiration);
      const current = live ? phpIntegerValue(String(row.value)) : undefined;
      if (!current) {
        // Missing, expired or 0: Laravel's put(key, 0, 1 day) followed by increment.
        statements.put.run({ key, value: phpInteger(1), expiration: now + COUNTER_TTL_SECONDS });
        return 1;
      }
      statements.setValue.run({ key, value: phpInteger(current + 1) });
      return current + 1;
    });
  }

  /** Laravel's `forget`: deletes the counter. */
  async reset(uuid: string): Promise<void> {
    const key = this.#key("reset a job's exception count", uuid);
    await this.#run(
      "reset a job's exception count",
      (statements) => statements.forget.run({ key }),
    );
  }

  #key(action: string, uuid: string): string {
    return `${this.#prefix}job-exceptions:${check.requireNonEmptyString(action, "uuid", uuid)}`;
  }

  async #run<T>(action: string, body: (statements: CounterStatements) => T): Promise<T> {
    try {
      return await this.#connection.write(action, () => body(this.#statements()));
    } catch (error) {
      if (error instanceof Error && error.message.includes("no such table")) {
        throw new Error(
          `Cannot ${action} as '${this.#connection.path}' has no '${this.#table}' table: ` +
            `run php artisan cache:table (Laravel 11: make:cache-table) && php artisan migrate, ` +
            `or deno task kqueue create-tables`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  #statements(): CounterStatements {
    const table = `"${this.#table}"`;
    const db = this.#connection.db;
    return this.#prepared ??= {
      /** Bindings: key. Returns: { value, expiration } or undefined. */
      read: db.prepare(`SELECT value, expiration FROM ${table} WHERE key = :key`),
      /** Laravel's put (an upsert since Laravel 11). Bindings: key, value, expiration. */
      put: db.prepare(
        `INSERT INTO ${table} (key, value, expiration) VALUES (:key, :value, :expiration)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expiration = excluded.expiration`,
      ),
      /** Laravel's increment: the value only, the expiration stays. Bindings: key, value. */
      setValue: db.prepare(`UPDATE ${table} SET value = :value WHERE key = :key`),
      /** Laravel's forget. Bindings: key. */
      forget: db.prepare(`DELETE FROM ${table} WHERE key = :key`),
    };
  }
}

/** PHP's `serialize($n)` of an integer. */
export function phpInteger(value: number): string {
  return `i:${value};`;
}

/**
 * The integer a serialized cache value holds, as PHP's `(int)` sees a numeric
 * value (`i:3;`, `d:3.5;`, `s:1:"3";`); undefined for anything else.
 */
export function phpIntegerValue(serialized: string): number | undefined {
  const match = /^(?:i:(-?\d+)|d:(-?[\d.]+(?:E[+-]?\d+)?)|s:\d+:"(-?[\d.]+)");$/i.exec(serialized);
  const text = match?.[1] ?? match?.[2] ?? match?.[3];
  if (text === undefined) return undefined;
  const value = Math.trunc(Number(text));
  return Number.isSafeInteger(value) ? value : undefined;
}
