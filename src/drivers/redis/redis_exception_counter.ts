/**
 * Laravel's `maxExceptions` counters in its Redis cache store
 * (`CACHE_STORE=redis`), so KQueue and Laravel workers count the same
 * exceptions of a job.
 *
 * Layout (`Illuminate\Cache\RedisStore` on the `cache` Redis connection,
 * database `REDIS_CACHE_DB` = 1): key = the connection's `REDIS_PREFIX` +
 * the cache prefix + `job-exceptions:<uuid>`, value = the integer as plain
 * text (RedisStore stores numbers raw so INCRBY works), TTL 1 day from the
 * first exception. The cache prefix is Laravel 11's `CACHE_PREFIX`
 * (`laravel_cache_`, used as is); Laravel 8–10 append a `:` to it
 * (`laravel_cache:job-exceptions:<uuid>`): set `CACHE_PREFIX=laravel_cache:`
 * to share counters with those.
 */
import type { ExceptionCounter } from "../driver.ts";
import * as check from "../sqlite/validate.ts";
import type { RedisEndpoint } from "./redis_endpoint.ts";
import { RedisLink } from "./redis_link.ts";
import { retryUntilSettled } from "./retry_settle.ts";
import { COUNT_EXCEPTION } from "./scripts/exception_counter.ts";

/** Laravel's `Carbon::now()->addDay()`. Seconds. */
const COUNTER_TTL_SECONDS = 86_400;

export interface RedisExceptionCounterOptions {
  /** The cache store's server and database (`REDIS_CACHE_DB`). */
  readonly endpoint: RedisEndpoint;
  /**
   * Everything before `job-exceptions:<uuid>`: `REDIS_PREFIX` + cache prefix
   * (a stock Laravel 11 app: `laravel_database_laravel_cache_`). @default ""
   */
  readonly prefix?: string;
}

export class RedisExceptionCounter implements ExceptionCounter {
  readonly #link: RedisLink;
  readonly #prefix: string;

  /** Connects at the first count (most jobs never need one). */
  constructor(options: RedisExceptionCounterOptions) {
    const action = "count job exceptions";
    this.#prefix = check.requireString(action, "prefix", options?.prefix ?? "");
    this.#link = new RedisLink(options.endpoint, {
      name: "kqueue-cache",
      maxRetriesPerRequest: 1,
    });
  }

  /** Adds one and returns the new count; a fresh counter lives one day. */
  async increment(uuid: string): Promise<number> {
    const key = this.#key("count a job exception", uuid);
    // Not idempotent: a lost reply is not replayed (one exception might go uncounted).
    try {
      return Number(await COUNT_EXCEPTION.run(this.#link.client, [key], [COUNTER_TTL_SECONDS]));
    } catch (error) {
      throw this.#link.describe(error, "count a job exception");
    }
  }

  /** Laravel's `forget`: deletes the counter. */
  async reset(uuid: string): Promise<void> {
    const key = this.#key("reset a job's exception count", uuid);
    await retryUntilSettled(
      this.#link,
      "reset a job's exception count",
      () => this.#link.client.del(key),
    );
  }

  close(): void {
    this.#link.close();
  }

  #key(action: string, uuid: string): string {
    return `${this.#prefix}job-exceptions:${check.requireNonEmptyString(action, "uuid", uuid)}`;
  }
}
