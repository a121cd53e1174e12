/**
 * A fresh queue for the lease tests, on SQLite (a temp file) or Redis (a
 * private redis-server), with the same few operations on both: the env for
 * daemon processes, dispatch, counts, failed_jobs, and the reservations as
 * Laravel's workers would read them.
 */
import { openConnection, type QueueConnection } from "../../src/mod.ts";
import { prepareDispatch } from "../../src/dispatch.ts";
import { RedisServer } from "../redis_fixtures/redis_server.ts";

export type StoreKind = "sqlite" | "redis";

export interface LeaseStore {
  readonly kind: StoreKind;
  readonly dir: string;
  readonly connection: QueueConnection;
  /** Env for a daemon process on this queue. */
  env(extra?: Record<string, string>): Record<string, string>;
  // deno-lint-ignore no-explicit-any
  dispatch(Class: any, data: Record<string, unknown>, queue?: string): Promise<void>;
  /**
   * The reservations as stored: SQLite `reserved_at` (a start time; a reader
   * judges it by its own retry_after), Redis `:reserved` scores (an absolute
   * expiry). Unix seconds.
   */
  reservationStamps(): Promise<number[]>;
  cleanup(): Promise<void>;
}

export async function openLeaseStore(kind: StoreKind): Promise<LeaseStore> {
  const dir = await Deno.makeTempDir({ prefix: `kqueue-lease-${kind}-` });
  const databasePath = `${dir}/database.sqlite`;
  const server = kind === "redis" ? await RedisServer.start() : undefined;
  const baseEnv: Record<string, string> = server
    ? server.env({ REDIS_PREFIX: "", DB_DATABASE: databasePath })
    : { QUEUE_CONNECTION: "database", DB_CONNECTION: "sqlite", DB_DATABASE: databasePath };
  const connection = await openConnection({
    name: kind === "redis" ? "redis" : "database",
    databasePath,
    env: (name) => baseEnv[name],
  });
  const redis = server?.client();
  return {
    kind,
    dir,
    connection,
    env: (extra = {}) => ({ ...baseEnv, ...extra }),
    dispatch: async (Class, data, queue = "default") => {
      await connection.driver.push(queue, prepareDispatch(Class, data).payload);
    },
    reservationStamps: async () => {
      if (redis) {
        const flat = await redis.zrange("queues:default:reserved", 0, -1, "WITHSCORES");
        return flat.filter((_, i) => i % 2 === 1).map(Number);
      }
      const { DatabaseSync } = await import("node:sqlite");
      const db = new DatabaseSync(databasePath, { readOnly: true });
      try {
        return db.prepare("SELECT reserved_at FROM jobs WHERE reserved_at IS NOT NULL").all()
          .map((row) => Number(row.reserved_at));
      } finally {
        db.close();
      }
    },
    cleanup: async () => {
      await connection.close();
      await server?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
