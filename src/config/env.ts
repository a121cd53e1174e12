/**
 * Queue configuration from Laravel's own environment variables (Laravel 11
 * names and defaults), so a Laravel app's `.env` values mean the same here.
 */

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

export interface QueueConfig {
  /** `QUEUE_CONNECTION`. @default "database" */
  readonly connection: string;
  readonly database: DatabaseConnectionConfig;
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
    failedTable: "failed_jobs",
    cachePrefix: env("CACHE_PREFIX") ?? `${slug(appName)}_cache_`,
  };
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
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new RangeError(`${name}=${value} is not valid: it must be a positive number of seconds`);
  }
  return n;
}
