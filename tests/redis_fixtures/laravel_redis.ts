/**
 * The Laravel 8 harness (tests/laravel/) on a Redis queue: both sides on one
 * private redis-server, failed jobs in one SQLite file migrated by Laravel's
 * own stubs. Reuses the harness's PHP scripts and TS job twins as they are.
 */
import { DatabaseSync } from "node:sqlite";
import { openConnection, type QueueConnection } from "../../src/mod.ts";
import { DaemonProcess, exitedOk } from "../helpers/daemon_process.ts";
import { runPhp, TS_JOBS } from "../laravel/harness.ts";
import { readRuns, type Run } from "../laravel/ts_jobs/_record.ts";
import { RedisServer } from "./redis_server.ts";

export class LaravelRedisQueue {
  private constructor(
    readonly server: RedisServer,
    readonly dir: string,
    readonly connection: QueueConnection,
    readonly extraEnv: { php: Record<string, string>; kqueue: Record<string, string> },
  ) {}

  /** `extra.php` / `extra.kqueue`: variables for one side only (the cache prefix forms differ). */
  static async create(
    extra: { php?: Record<string, string>; kqueue?: Record<string, string> } = {},
  ): Promise<LaravelRedisQueue> {
    const server = await RedisServer.start();
    const dir = await Deno.makeTempDir({ prefix: "kqueue-laravel-redis-" });
    const databasePath = `${dir}/database.sqlite`;
    await Deno.writeTextFile(databasePath, "");
    const base = LaravelRedisQueue.baseEnv(server, dir);
    const migrated = await runPhp("migrate.php", [], base);
    if (migrated.code !== 0) throw new Error(`migrate.php failed:\n${migrated.stderr}`);
    const kqueueEnv = { ...base, ...extra.kqueue };
    const connection = await openConnection({ name: "redis", env: (name) => kqueueEnv[name] });
    return new LaravelRedisQueue(server, dir, connection, {
      php: extra.php ?? {},
      kqueue: extra.kqueue ?? {},
    });
  }

  static baseEnv(server: RedisServer, dir: string): Record<string, string> {
    return {
      QUEUE_CONNECTION: "redis",
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: String(server.port),
      REDIS_QUEUE_RETRY_AFTER: "90",
      DB_CONNECTION: "sqlite",
      DB_DATABASE: `${dir}/database.sqlite`,
      RECORD_FILE: `${dir}/runs.jsonl`,
      REPORT_FILE: `${dir}/reports.jsonl`,
    };
  }

  /** Runs a harness script on the Redis connection; throws on a non-zero exit. */
  async php(script: string, ...args: string[]): Promise<string> {
    const env = { ...LaravelRedisQueue.baseEnv(this.server, this.dir), ...this.extraEnv.php };
    const result = await runPhp(script, args, env);
    if (result.code !== 0) {
      throw new Error(
        `php ${script} ${args.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`,
      );
    }
    return result.stdout;
  }

  dispatch(job: string, args: Record<string, unknown> = {}, ...flags: string[]): Promise<string> {
    return this.php("dispatch.php", job, JSON.stringify(args), ...flags);
  }

  /** Laravel's `queue:work redis --once` (more flags: `--queue=emails`, …). */
  workOnce(...flags: string[]): Promise<string> {
    return this.php("work.php", "--once", "--connection=redis", ...flags);
  }

  /** The KQueue daemon on the same queue (`--json`); await its events or `finished()`. */
  daemon(...args: string[]): DaemonProcess {
    const env = { ...LaravelRedisQueue.baseEnv(this.server, this.dir), ...this.extraEnv.kqueue };
    return new DaemonProcess(
      ["work", "--json", "--connection=redis", "--jobs", TS_JOBS, "--sleep=1", ...args],
      env,
    );
  }

  /** The KQueue daemon on the same queue, until it exits; asserts exit code 0. */
  async drain(...args: string[]): Promise<DaemonProcess> {
    const stop = args.some((a) => a === "--once" || a.startsWith("--stop-when"));
    return await exitedOk(this.daemon(...(stop ? args : ["--stop-when-drained", ...args])));
  }

  runs(): Promise<Run[]> {
    return readRuns(`${this.dir}/runs.jsonl`);
  }

  async failed(): Promise<Record<string, string>[]> {
    return JSON.parse(await this.php("failed.php"));
  }

  /** Rows of the shared SQLite file (`failed_jobs`, `cache`), read with a separate handle. */
  rows<T = Record<string, unknown>>(sql: string, ...params: (string | number)[]): T[] {
    const db = new DatabaseSync(`${this.dir}/database.sqlite`);
    try {
      return db.prepare(sql).all(...params).map((row) => ({ ...row })) as T[];
    } finally {
      db.close();
    }
  }

  async cleanup(): Promise<void> {
    await this.connection.close();
    await this.server.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

export async function withLaravelRedis(
  body: (q: LaravelRedisQueue) => Promise<void>,
  extra?: { php?: Record<string, string>; kqueue?: Record<string, string> },
): Promise<void> {
  const q = await LaravelRedisQueue.create(extra);
  try {
    await body(q);
  } finally {
    await q.cleanup();
  }
}
