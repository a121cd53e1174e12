/**
 * Where a Redis server is, from Laravel's variables: `REDIS_URL`
 * (`redis://user:pass@host:port/db`, `rediss://` for TLS) or `REDIS_HOST` /
 * `REDIS_PORT` / `REDIS_USERNAME` / `REDIS_PASSWORD` / `REDIS_DB`, with the
 * URL's parts winning, as Laravel's `ConfigurationUrlParser` merges them.
 */
import type { RedisConnectionConfig } from "../../config/env.ts";
import { readNumber } from "../../config/number_setting.ts";

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** Database index (`SELECT`). */
  readonly db: number;
  /** TLS (`rediss://`). */
  readonly tls: boolean;
  /** Which variables to name in errors. @default "REDIS_HOST/REDIS_PORT" */
  readonly source?: string;
}

/** `host:port` for messages (never the password). */
export function describeEndpoint(endpoint: RedisEndpoint): string {
  const host = endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}

/**
 * The queue connection's endpoint, and the cache store's (same server,
 * `REDIS_CACHE_DB`). A database in the URL's path applies to both, as in
 * Laravel, whose `default` and `cache` connections share `REDIS_URL`.
 */
export function endpointsFromConfig(
  config: RedisConnectionConfig,
): { queue: RedisEndpoint; cache: RedisEndpoint } {
  const base = {
    host: config.host,
    port: config.port,
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
    tls: false,
    source: "REDIS_HOST/REDIS_PORT",
  };
  if (config.url === undefined) {
    return {
      queue: { ...base, db: config.database },
      cache: { ...base, db: config.cacheDatabase },
    };
  }
  const parsed = parseRedisUrl(config.url);
  const merged = { ...base, ...parsed.endpoint, source: "REDIS_URL" };
  return {
    queue: { ...merged, db: parsed.db ?? config.database },
    cache: { ...merged, db: parsed.db ?? config.cacheDatabase },
  };
}

export function parseRedisUrl(
  text: string,
): { endpoint: Omit<RedisEndpoint, "db">; db: number | undefined } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(
      `REDIS_URL is not a URL: expected redis://[user:password@]host[:port][/db]`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new TypeError(
      `REDIS_URL must start with redis:// or rediss:// (TLS): current scheme is ${url.protocol}`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = url.port === "" ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, "");
  const queryDb = url.searchParams.get("database") ?? url.searchParams.get("db");
  const dbText = path !== "" ? path : queryDb;
  let db: number | undefined;
  if (dbText !== null && dbText !== "") {
    db = readNumber(dbText, { integer: true });
    if (db === undefined) {
      throw new RangeError(
        `REDIS_URL names database "${dbText}": it must be a whole number in plain digits`,
      );
    }
  }
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return {
    endpoint: {
      host,
      port,
      // redis://:password@host is the password-only form.
      ...(username !== "" ? { username } : {}),
      ...(password !== "" ? { password } : {}),
      tls: url.protocol === "rediss:",
    },
    db,
  };
}
