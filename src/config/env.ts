/**
 * Queue configuration from Laravel's own environment variables (Laravel 11
 * names and defaults), so a Laravel app's `.env` values mean the same here.
 * Numbers are read strictly (plain digits: see number_setting.ts).
 */
import { parseNumberSetting } from "./number_setting.ts";

export interface DatabaseConnectionConfig {
  readonly driver: "sqlite";
  /** `DB_DATABASE`, resolved against the working directory. */
  readonly path: string;
  /** `DB_QUEUE_TABLE`. @default "jobs" */
  readonly table: string;
  /** `DB_QUEUE`. @default "default" */
  readonly queue: string;
  /** `DB_QUEUE_RETRY_AFTER`, seconds. @default 90 */
  readonly retryAfter: number;
}

/** Laravel 11's `database.redis` (`default` and `cache` connections) and `queue.connections.redis`. */
export interface RedisConnectionConfig {
  /** `REDIS_URL` (`redis://` or `rediss://` for TLS); its parts win over the variables below. */
  readonly url: string | undefined;
  /** `REDIS_HOST`. @default "127.0.0.1" */
  readonly host: string;
  /** `REDIS_PORT`. @default 6379 */
  readonly port: number;
  /** `REDIS_USERNAME` (ACL user). @default none */
  readonly username: string | undefined;
  /** `REDIS_PASSWORD`. @default none */
  readonly password: string | undefined;
  /** `REDIS_DB`: the queue's database index. @default 0 */
  readonly database: number;
  /** `REDIS_CACHE_DB`: the cache store's database index (maxExceptions counters). @default 1 */
  readonly cacheDatabase: number;
  /** `REDIS_PREFIX`, put before every key. @default `<slug of APP_NAME>_database_` */
  readonly prefix: string;
  /** `REDIS_QUEUE`. @default "default" */
  readonly queue: string;
  /** `REDIS_QUEUE_RETRY_AFTER`, seconds. @default 90 */
  readonly retryAfter: number;
}

export interface QueueConfig {
  /** `QUEUE_CONNECTION`. @default "database" */
  readonly connection: string;
  readonly database: DatabaseConnectionConfig;
  readonly redis: RedisConnectionConfig;
  /** `CACHE_STORE` (Laravel 11; `CACHE_DRIVER` before): where maxExceptions counters live. @default "database" */
  readonly cacheStore: string;
  /** The `failed_jobs` table. @default "failed_jobs" */
  readonly failedTable: string;
  /** `CACHE_PREFIX`. @default `<slug of APP_NAME>_cache_` */
  readonly cachePrefix: string;
}

export type EnvReader = (name: string) => string | undefined;

export const denoEnv: EnvReader = (name) => Deno.env.get(name);

export function readQueueConfig(env: EnvReader = denoEnv, cwd = Deno.cwd()): QueueConfig {
  const dbConnection = env("DB_QUEUE_CONNECTION") || env("DB_CONNECTION") || "sqlite";
  if (dbConnection !== "sqlite") {
    throw new Error(
      `DB_CONNECTION=${dbConnection} is not supported yet: KQueue's database queue runs on SQLite (set DB_CONNECTION=sqlite and DB_DATABASE=path/to/file.sqlite)`,
    );
  }
  const appName = env("APP_NAME") || "laravel";
  return {
    connection: env("QUEUE_CONNECTION") || "database",
    database: {
      driver: "sqlite",
      path: resolvePath(env("DB_DATABASE") || "database/database.sqlite", cwd),
      table: env("DB_QUEUE_TABLE") || "jobs",
      queue: env("DB_QUEUE") || "default",
      retryAfter: positiveNumber(env("DB_QUEUE_RETRY_AFTER"), "DB_QUEUE_RETRY_AFTER", 90),
    },
    redis: readRedisConfig(env, appName),
    cacheStore: env("CACHE_STORE") || env("CACHE_DRIVER") || "database",
    failedTable: "failed_jobs",
    cachePrefix: env("CACHE_PREFIX") ?? `${slug(appName)}_cache_`,
  };
}

/** KQueue's own lease settings (`KQUEUE_LEASE`, …): the daemon's, not the connection's. Seconds. */
export interface LeaseEnv {
  readonly lease?: number;
  readonly leaseRenew?: number;
  readonly livenessLimit?: number;
}

export function readLeaseEnv(env: EnvReader = denoEnv): LeaseEnv {
  const read = (name: string, zeroAllowed: boolean): number | undefined => {
    const value = env(name);
    if (value === undefined || value === "") return undefined;
    return parseNumberSetting(name, value, { unit: "seconds", positive: !zeroAllowed });
  };
  const lease = read("KQUEUE_LEASE", true);
  const leaseRenew = read("KQUEUE_LEASE_RENEW", false);
  const livenessLimit = read("KQUEUE_LIVENESS_LIMIT", false);
  return {
    ...(lease !== undefined ? { lease } : {}),
    ...(leaseRenew !== undefined ? { leaseRenew } : {}),
    ...(livenessLimit !== undefined ? { livenessLimit } : {}),
  };
}

/**
 * Every variable the daemon's config reads, whatever the connection: what a
 * narrowed `--allow-env=<list>` must grant (SECURITY.md). Found by reading
 * the config with a reader that records the names, so it cannot drift.
 */
export function configEnvNames(): string[] {
  const names = new Set<string>();
  const recording: EnvReader = (name) => {
    names.add(name);
    return undefined;
  };
  readQueueConfig(recording, "/");
  readLeaseEnv(recording);
  return [...names].sort();
}

function readRedisConfig(env: EnvReader, appName: string): RedisConnectionConfig {
  return {
    url: laravelEnv(env, "REDIS_URL") || undefined,
    host: env("REDIS_HOST") || "127.0.0.1",
    port: integerIn(env("REDIS_PORT"), "REDIS_PORT", 6379, 1, 65535),
    username: laravelEnv(env, "REDIS_USERNAME") || undefined,
    password: laravelEnv(env, "REDIS_PASSWORD") || undefined,
    database: integerIn(env("REDIS_DB"), "REDIS_DB", 0, 0, 2 ** 31 - 1),
    cacheDatabase: integerIn(env("REDIS_CACHE_DB"), "REDIS_CACHE_DB", 1, 0, 2 ** 31 - 1),
    prefix: env("REDIS_PREFIX") ?? `${slug(appName)}_database_`,
    queue: env("REDIS_QUEUE") || "default",
    retryAfter: positiveNumber(env("REDIS_QUEUE_RETRY_AFTER"), "REDIS_QUEUE_RETRY_AFTER", 90),
  };
}

/** Laravel's `env()` reads `null` / `(null)` as unset (its .env.example has `REDIS_PASSWORD=null`). */
function laravelEnv(env: EnvReader, name: string): string | undefined {
  const value = env(name);
  return value === "null" || value === "(null)" ? undefined : value;
}

function integerIn(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === "") return fallback;
  return parseNumberSetting(name, value, { integer: true, min, max });
}

/** Laravel's `Str::slug($name, '_')` for plain ASCII names. */
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
}

function resolvePath(path: string, cwd: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/$/, "")}/${path}`;
}

function positiveNumber(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  return parseNumberSetting(name, value, { unit: "seconds", positive: true });
}
