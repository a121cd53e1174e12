/**
 * What every scenario process shares: where things are, its one-line JSON
 * report on stdout, and small timing helpers. A scenario prints exactly one
 * JSON line (its result) and exits 0, or prints why it failed and exits 1.
 */
import { fileURLToPath } from "node:url";

/** The repository root (the isolated children's project root). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(
  /\/$/,
  "",
);
/** The bench's job classes. */
export const BENCH_JOBS_DIR: string = fileURLToPath(new URL("../jobs/", import.meta.url));
export const BENCH_JOBS_URL: string = new URL("../jobs/bench_jobs.ts", import.meta.url).href;

/** The process's resident set size, in MB. */
export function rssMb(): number {
  return Deno.memoryUsage().rss / 1024 / 1024;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `message` if `promise` has not settled after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (after ${ms / 1000} s)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh temp dir, removed after `body` (whatever happens). */
export async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-bench-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Runs a scenario's main: prints its result as one JSON line, or the error and exits 1. */
export async function report(main: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    const result = await main();
    console.log(JSON.stringify(result));
  } catch (error) {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    Deno.exit(1);
  }
}

const PUSHER = new URL("./push_jobs.ts", import.meta.url).pathname;

/** Pushes `jobs` jobs of a bench class from a separate producer process (push_jobs.ts). */
export async function pushFromAnotherProcess(
  connection: string,
  databasePath: string,
  job: string,
  jobs: number,
) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", PUSHER, "--connection", connection, "--database", databasePath],
      ...["--job", job, "--jobs", String(jobs)],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`the producer failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)) as {
    buildSeconds: number;
    insertSeconds: number;
  };
}
