/**
 * Runs one measurement in its own fresh process (so one scenario's heap and
 * caches never affect the next) and parses the one JSON line it prints.
 */
import { fileURLToPath } from "node:url";

const SCENARIOS_DIR = fileURLToPath(new URL("./scenarios/", import.meta.url));
const LARAVEL_PEER = fileURLToPath(new URL("./peers/laravel_database_worker.php", import.meta.url));
export const LARAVEL_AUTOLOAD = "/usr/share/php/Illuminate/autoload.php";

/** What `kqueue_drain.ts` reports. */
export interface DrainResult {
  readonly jobs: number;
  /** First `job:started` → the jobs table seen empty by a second connection. */
  readonly seconds: number;
  /** First `job:started` → the last `job:done`. */
  readonly lastDoneSeconds: number;
  readonly rssIdleMb: number;
  readonly rssAfterMb: number;
  readonly rssSamplesMb: readonly number[];
  readonly heapUsedAfterMb: number;
  readonly maxLagMs: number;
  /** The daemon process's CPU (user + system) per job, over the drain (push included). */
  readonly daemonCpuUsPerJob: number;
}

/** What `pool_profile.ts` reports. */
export interface PoolProfileResult {
  readonly mode: "pool" | "bare";
  readonly jobs: number;
  readonly jobsPerSecond: number;
  readonly daemonCpuUs: number;
  readonly childCpuUs: number;
}

/** `pool_profile.ts`: pooled no-op jobs without the queue (KQueue's pool, or bare pipes). */
export function runPoolProfile(
  mode: "pool" | "bare",
  jobs: number,
  children: number,
): Promise<PoolProfileResult> {
  return runDenoScenario<PoolProfileResult>("pool_profile.ts", [
    ...["--mode", mode, "--jobs", String(jobs), "--children", String(children)],
  ]);
}

/** What `isolated_spawn.ts` reports. */
export interface SpawnResult {
  readonly calls: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** What `laravel_database_worker.php` reports. */
export interface LaravelResult {
  readonly jobs: number;
  /** `Worker::daemon()` from call to return (stop-when-empty). */
  readonly seconds: number;
}

export interface DrainSettings {
  readonly job: "BenchNoop" | "BenchWait50ms" | "BenchIsolatedNoop";
  readonly jobs: number;
  readonly concurrency: number;
  readonly isolatedConcurrency?: number;
  /** The pool's maxJobsPerChild (isolated jobs); the daemon's default (1) when absent. */
  readonly maxJobsPerChild?: number;
  /** RSS samples taken while draining (every jobs/rssSamples completions). */
  readonly rssSamples?: number;
}

export function runKQueueDrain(settings: DrainSettings): Promise<DrainResult> {
  return runDenoScenario<DrainResult>("kqueue_drain.ts", drainArgs(settings));
}

/** The arguments of `kqueue_drain.ts` for `settings`. */
export function drainArgs(settings: DrainSettings): string[] {
  return [
    "--job",
    settings.job,
    "--jobs",
    String(settings.jobs),
    "--concurrency",
    String(settings.concurrency),
    ...(settings.isolatedConcurrency
      ? ["--isolated-concurrency", String(settings.isolatedConcurrency)]
      : []),
    ...(settings.maxJobsPerChild ? ["--max-jobs-per-child", String(settings.maxJobsPerChild)] : []),
    ...(settings.rssSamples ? ["--rss-samples", String(settings.rssSamples)] : []),
  ];
}

export function runIsolatedSpawn(calls: number): Promise<SpawnResult> {
  return runDenoScenario<SpawnResult>("isolated_spawn.ts", ["--calls", String(calls)]);
}

/** Laravel's worker on a fresh SQLite file in a fresh temp dir. */
export async function runLaravelPeer(
  jobs: number,
  kind: "noop" | "wait50",
): Promise<LaravelResult> {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-bench-laravel-" });
  try {
    const result = await runJsonProcess<LaravelResult>("php", [
      LARAVEL_PEER,
      `${dir}/database.sqlite`,
      String(jobs),
      kind,
    ]);
    if (result.jobs !== jobs) {
      throw new Error(`the Laravel peer processed ${result.jobs} of ${jobs} jobs`);
    }
    return result;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Why the Laravel peer can't run here, or undefined when it can. */
export async function laravelPeerUnavailable(): Promise<string | undefined> {
  if ((await commandOutput("php", ["-v"])) === undefined) return "peer skipped: php not installed";
  try {
    await Deno.stat(LARAVEL_AUTOLOAD);
  } catch {
    return `peer skipped: Laravel not installed (${LARAVEL_AUTOLOAD})`;
  }
  return undefined;
}

/** A command's trimmed stdout, or undefined when it is missing or fails. */
export async function commandOutput(command: string, args: string[]): Promise<string | undefined> {
  try {
    const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" })
      .output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** The V8 flags `deno task kqueue` runs the daemon with, read from deno.json: measured as users run it. */
const DAEMON_V8_FLAGS = daemonV8Flags();

function daemonV8Flags(): string {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  const flags = /--v8-flags=(\S+)/.exec(String(config.tasks?.kqueue ?? ""))?.[1];
  if (flags === undefined) throw new Error("deno.json's kqueue task has no --v8-flags");
  return flags;
}

/** A scenario of `scenarios/` in a fresh Deno process. */
export function runDenoScenario<T>(
  file: string,
  args: string[],
  env?: Record<string, string>,
  extraV8Flags: readonly string[] = [],
): Promise<T> {
  const v8 = [DAEMON_V8_FLAGS, ...extraV8Flags].join(",");
  const run = ["run", "-A", `--v8-flags=${v8}`, `${SCENARIOS_DIR}${file}`, ...args];
  return runJsonProcess<T>(Deno.execPath(), run, env);
}

/** Runs `command` (with `env` added to this process's) and parses the last line it prints. */
export async function runJsonProcess<T>(
  command: string,
  args: string[],
  env?: Record<string, string>,
): Promise<T> {
  const output = await new Deno.Command(command, {
    args,
    ...(env ? { env } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout).trim();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  const name = args.find((arg) => /\.(ts|php|mjs)$/.test(arg))?.split("/").pop() ?? command;
  if (!output.success) {
    throw new Error(`${name} exited with code ${output.code}: ${stderr || stdout}`);
  }
  const lastLine = stdout.split("\n").pop() ?? "";
  try {
    return JSON.parse(lastLine) as T;
  } catch {
    throw new Error(`${name} printed no JSON result: ${stdout.slice(0, 500)}`);
  }
}
