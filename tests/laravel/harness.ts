/**
 * The TypeScript side of the Laravel harness: run its PHP scripts, set up a
 * SQLite queue whose tables Laravel's own migration stubs created, and run the
 * KQueue daemon on it with the jobs in ./ts_jobs.
 *
 * Tests that need PHP use `laravelTest()`: the skip/require pattern of
 * tests/_php_helpers.ts (`phpTest`), extended to check for Laravel 8 and
 * pdo_sqlite too, and to say why a test is skipped.
 */
import { DatabaseSync } from "node:sqlite";
import { openConnection, type QueueConnection } from "../../src/mod.ts";
import { DaemonProcess, exitedOk } from "../helpers/daemon_process.ts";
import { readRuns, type Run } from "./ts_jobs/_record.ts";

export type { Run };
export const HARNESS = new URL(".", import.meta.url).pathname;
export const TS_JOBS = `${HARNESS}ts_jobs`;
const LARAVEL_AUTOLOAD = "/usr/share/php/Illuminate/autoload.php";
/** Laravel 8's stock `config/cache.php` prefix; both sides get it (see README). */
export const CACHE_PREFIX = "laravel_cache";

function missingLaravel(): string | undefined {
  let modules: string;
  try {
    const out = new Deno.Command("php", { args: ["-m"], stdout: "piped", stderr: "null" })
      .outputSync();
    if (!out.success) return "`php -m` failed";
    modules = new TextDecoder().decode(out.stdout);
  } catch {
    return "`php` is not on PATH";
  }
  if (!/^pdo_sqlite$/m.test(modules)) return "PHP has no pdo_sqlite (apt-get install php-sqlite3)";
  try {
    Deno.statSync(LARAVEL_AUTOLOAD);
  } catch {
    return `${LARAVEL_AUTOLOAD} is missing (apt-get install php-laravel-framework)`;
  }
  return undefined;
}

const MISSING = missingLaravel();
const REQUIRED = Deno.env.get("KQUEUE_REQUIRE_PHP") === "1";
if (MISSING && !REQUIRED) {
  console.warn(
    `Skipping the Laravel interop tests: ${MISSING}. ` +
      "Install php-cli php-laravel-framework php-sqlite3 (php-redis for Redis) to run them.",
  );
}

/** A test against real Laravel: skipped without PHP + Laravel, failed instead when KQUEUE_REQUIRE_PHP=1. */
export function laravelTest(name: string, fn: () => Promise<void>): void {
  if (!MISSING) return void Deno.test({ name, fn });
  if (!REQUIRED) return void Deno.test({ name, ignore: true, fn });
  Deno.test(name, () => {
    throw new Error(
      `PHP 8 with Laravel 8 is required for this test (KQUEUE_REQUIRE_PHP=1): ${MISSING}. ` +
        "Install php-cli php-laravel-framework php-sqlite3.",
    );
  });
}

export interface PhpResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp folder with a Laravel-migrated SQLite queue, shared by both sides. */
export class LaravelQueue {
  private constructor(
    readonly dir: string,
    readonly databasePath: string,
    readonly connection: QueueConnection,
  ) {}

  static async create(): Promise<LaravelQueue> {
    const dir = await Deno.makeTempDir({ prefix: "kqueue-laravel-" });
    const databasePath = `${dir}/database.sqlite`;
    await Deno.writeTextFile(databasePath, ""); // Laravel's SQLite connector wants the file to exist
    const env = { DB_DATABASE: databasePath };
    const migrated = await runPhp("migrate.php", [], env);
    if (migrated.code !== 0) throw new Error(`migrate.php failed:\n${migrated.stderr}`);
    const connection = await openConnection({ name: "database", databasePath, retryAfter: 90 });
    return new LaravelQueue(dir, databasePath, connection);
  }

  get recordFile(): string {
    return `${this.dir}/runs.jsonl`;
  }

  /** The environment both sides run with. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      QUEUE_CONNECTION: "database",
      DB_CONNECTION: "sqlite",
      DB_DATABASE: this.databasePath,
      DB_QUEUE_RETRY_AFTER: "90",
      CACHE_PREFIX,
      RECORD_FILE: this.recordFile,
      REPORT_FILE: `${this.dir}/reports.jsonl`,
      ...extra,
    };
  }

  /** Runs a harness script (dispatch.php, work.php, failed.php, retry.php); throws on a non-zero exit. */
  async php(script: string, ...args: string[]): Promise<PhpResult> {
    const result = await runPhp(script, args, this.env());
    if (result.code !== 0) {
      throw new Error(
        `php ${script} ${args.join(" ")} exited ${result.code}:\n${result.stdout}${result.stderr}`,
      );
    }
    return result;
  }

  /** `dispatch.php <Job> <json> [flags]`. */
  dispatch(job: string, args: Record<string, unknown> = {}, ...flags: string[]) {
    return this.php("dispatch.php", job, JSON.stringify(args), ...flags);
  }

  /** `queue:failed`'s rows. */
  async failed(): Promise<Record<string, string>[]> {
    return JSON.parse((await this.php("failed.php")).stdout);
  }

  /** The KQueue daemon on this queue with the harness's TS jobs; `--json`, await its events. */
  daemon(...args: string[]): DaemonProcess {
    return new DaemonProcess(
      ["work", "--json", "--jobs", TS_JOBS, "--sleep=1", ...args],
      this.env(),
    );
  }

  /** Runs the daemon until it exits (`--stop-when-drained` unless other stop flags are given). */
  async drain(...args: string[]): Promise<DaemonProcess> {
    const stop = args.some((a) => a === "--once" || a.startsWith("--stop-when"));
    return await exitedOk(this.daemon(...(stop ? args : ["--stop-when-drained", ...args])));
  }

  runs(): Promise<Run[]> {
    return readRuns(this.recordFile);
  }

  /** What Laravel's exception handler reported (`{class, message, at}` per line). */
  async reports(): Promise<{ class: string; message: string; at: number }[]> {
    const text = await Deno.readTextFile(`${this.dir}/reports.jsonl`).catch(() => "");
    return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
  }

  /** Rows of `table`, read with a separate SQLite handle (WAL: never blocks a writer). */
  rows<T = Record<string, unknown>>(sql: string, ...params: (string | number)[]): T[] {
    const db = new DatabaseSync(this.databasePath);
    try {
      return db.prepare(sql).all(...params).map((row) => ({ ...row })) as T[];
    } finally {
      db.close();
    }
  }

  /** The `jobs` rows, payloads decoded. */
  jobs(): JobRow[] {
    return this.rows<Omit<JobRow, "decoded">>("SELECT * FROM jobs ORDER BY id").map((row) => ({
      ...row,
      decoded: JSON.parse(row.payload),
    }));
  }

  async cleanup(): Promise<void> {
    await this.connection.close();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

export interface JobRow {
  id: number;
  queue: string;
  payload: string;
  attempts: number;
  reserved_at: number | null;
  available_at: number;
  created_at: number;
  // deno-lint-ignore no-explicit-any
  decoded: Record<string, any>;
}

/** Runs a harness script with `php` (pinned ini settings) and the given env on top of ours. */
export async function runPhp(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<PhpResult> {
  const out = await new Deno.Command("php", {
    args: ["-d", "display_errors=stderr", `${HARNESS}${script}`, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs `body` with a fresh LaravelQueue, cleaned up afterwards. */
export async function withLaravelQueue(body: (q: LaravelQueue) => Promise<void>): Promise<void> {
  const q = await LaravelQueue.create();
  try {
    await body(q);
  } finally {
    await q.cleanup();
  }
}

/** Waits (real time, bounded) until the unix second `at` has begun: Laravel and KQueue both compare whole seconds. */
export async function untilUnixSecond(at: number, maxWaitMs = 15_000): Promise<void> {
  const waitMs = at * 1000 - Date.now();
  if (waitMs > maxWaitMs) throw new Error(`refusing to wait ${waitMs} ms for unix second ${at}`);
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs + 20));
}

/** Lines of `work.php` output that say a job was picked up. */
export function processedLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => /\] (Processing|Processed|Failed):/.test(line));
}
