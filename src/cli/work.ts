/** `kqueue work`: Laravel's `queue:work` flags on the KQueue daemon. */
import type { Logger } from "../log.ts";
import { openConnection, type QueueConnection } from "../connection.ts";
import { readLeaseEnv } from "../config/env.ts";
import { useConnection } from "../dispatch.ts";
import { type ChildUser, parseChildUser } from "../executor/child_user.ts";
import { checkChildUser } from "../executor/child_user_check.ts";
import { discoverJobs } from "../jobs/discover.ts";
import { Daemon, type DaemonResult } from "../runtime/daemon.ts";
import type { DaemonOptions } from "../runtime/options.ts";
import type { JobRegistry } from "../jobs/registry.ts";
import {
  listOfNames,
  listOfSeconds,
  NON_NEGATIVE_INTEGER,
  numberFlag,
  parseFlags,
  POSITIVE_INTEGER,
  POSITIVE_SECONDS,
  SECONDS,
} from "./args.ts";
import { CliError, openStoreError } from "./cli_error.ts";
import { printHumanEvents, printJsonEvents } from "./output.ts";

export const WORK_FLAGS = {
  queue: { type: "string" },
  connection: { type: "string" },
  jobs: { type: "string" },
  database: { type: "string" },
  concurrency: { type: "string" },
  "isolated-concurrency": { type: "string" },
  "max-jobs-per-child": { type: "string" },
  "pool-min": { type: "string" },
  "pool-max": { type: "string" },
  "pool-recycle-rss": { type: "string" },
  "pool-idle-timeout": { type: "string" },
  "pool-start-timeout": { type: "string" },
  "spawn-rate": { type: "string" },
  tries: { type: "string" },
  timeout: { type: "string" },
  backoff: { type: "string" },
  memory: { type: "string" },
  "max-jobs": { type: "string" },
  "max-time": { type: "string" },
  sleep: { type: "string" },
  "retry-after": { type: "string" },
  lease: { type: "string" },
  "lease-renew": { type: "string" },
  "liveness-limit": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "store-timeout": { type: "string" },
  "unknown-jobs": { type: "string" },
  "unknown-delay": { type: "string" },
  "stop-when-empty": { type: "boolean" },
  "stop-when-drained": { type: "boolean" },
  once: { type: "boolean" },
  json: { type: "boolean" },
  "allow-unscoped": { type: "string" },
  "child-user": { type: "string" },
} as const;

/** `--memory=MB`, `--pool-recycle-rss=MB`: 0 turns them off. */
const MEGABYTES = { unit: "MB" } as const;
/** `--spawn-rate=N`: spawns per second, daemon-wide (a token bucket: 0.5 = one every 2 s). */
const SPAWN_RATE = { unit: "child spawns per second", positive: true } as const;

/** Hooks the CLI entry provides: signal installation and the logger. */
export interface WorkEnvironment {
  readonly log: Logger;
  /** Calls `onSignal` on SIGTERM/SIGINT/SIGQUIT; returns a remover. */
  readonly onSignals: (onSignal: (signal: string) => void) => () => void;
}

export async function work(args: string[], env: WorkEnvironment): Promise<DaemonResult> {
  const { values, positionals } = parseFlags("work", args, WORK_FLAGS, 1);
  if (positionals[0] !== undefined && positionals[0] !== values.connection) {
    values.connection ??= positionals[0];
  }
  const jobsDir = String(values.jobs ?? "jobs");
  const registry = await discoverJobs(jobsDir).catch((error) => {
    throw new CliError((error as Error).message);
  });
  if (registry.size === 0) {
    throw new CliError(
      `No jobs found in ${jobsDir}: export classes that extend KQueueJob there, or pass --jobs DIR`,
    );
  }
  const childUser = await childUserFlag(values["child-user"], registry);
  const retryAfter = numberFlag(values, "retry-after", POSITIVE_SECONDS);
  const leaseEnv = (() => {
    try {
      return readLeaseEnv();
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  })();
  const lease = numberFlag(values, "lease", SECONDS) ?? leaseEnv.lease;
  const leaseRenew = numberFlag(values, "lease-renew", POSITIVE_SECONDS) ?? leaseEnv.leaseRenew;
  const livenessLimit = numberFlag(values, "liveness-limit", POSITIVE_SECONDS) ??
    leaseEnv.livenessLimit;
  // A refusal names the flags; say which of their values came from the environment.
  const fromEnv = ([
    ["lease", "KQUEUE_LEASE", leaseEnv.lease],
    ["lease-renew", "KQUEUE_LEASE_RENEW", leaseEnv.leaseRenew],
    ["liveness-limit", "KQUEUE_LIVENESS_LIMIT", leaseEnv.livenessLimit],
  ] as const).filter(([flag, , value]) => value !== undefined && values[flag] === undefined)
    .map(([, name, value]) => `${name}=${value}`);
  const connection = await openConnection({
    ...(values.connection ? { name: String(values.connection) } : {}),
    ...(values.database ? { databasePath: String(values.database) } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  }).catch((error) => {
    throw openStoreError(error);
  });
  for (const warning of connection.warnings) env.log.warn(warning);
  useConnection(connection); // jobs that dispatch jobs reuse the daemon's connection

  const daemon = createDaemon(
    {
      driver: connection.driver,
      registry,
      ...(connection.exceptions ? { exceptions: connection.exceptions } : {}),
      queues: listOfNames(values, "queue") ?? [connection.defaultQueue],
      concurrency: numberFlag(values, "concurrency", POSITIVE_INTEGER),
      isolatedConcurrency: numberFlag(values, "isolated-concurrency", POSITIVE_INTEGER),
      pool: {
        maxJobsPerChild: numberFlag(values, "max-jobs-per-child", POSITIVE_INTEGER),
        min: numberFlag(values, "pool-min", NON_NEGATIVE_INTEGER),
        max: numberFlag(values, "pool-max", POSITIVE_INTEGER),
        recycleRss: numberFlag(values, "pool-recycle-rss", MEGABYTES),
        idleTimeout: numberFlag(values, "pool-idle-timeout", SECONDS),
        startTimeout: numberFlag(values, "pool-start-timeout", POSITIVE_SECONDS),
        spawnRate: numberFlag(values, "spawn-rate", SPAWN_RATE),
      },
      tries: numberFlag(values, "tries", NON_NEGATIVE_INTEGER),
      timeout: numberFlag(values, "timeout", SECONDS),
      backoff: listOfSeconds(values, "backoff"),
      memory: numberFlag(values, "memory", MEGABYTES),
      maxJobs: numberFlag(values, "max-jobs", NON_NEGATIVE_INTEGER),
      maxTime: numberFlag(values, "max-time", SECONDS),
      sleep: sleepFlag(values),
      shutdownTimeout: numberFlag(values, "shutdown-timeout", SECONDS),
      storeTimeout: numberFlag(values, "store-timeout", SECONDS),
      lease,
      leaseRenew,
      livenessLimit,
      unknownJobs: unknownJobsFlag(values["unknown-jobs"]),
      unknownJobDelay: numberFlag(values, "unknown-delay", SECONDS),
      stopWhenEmpty: values["stop-when-empty"] === true,
      stopWhenDrained: values["stop-when-drained"] === true,
      once: values.once === true,
      allowUnscoped: listOfNames(values, "allow-unscoped", "SyncBackups,ResizeImage (job names)"),
      childUser,
    },
    connection,
    fromEnv,
  );
  env.log.info(`Queue: ${connection.description}`);
  if (values.json) printJsonEvents(daemon.events);
  else printHumanEvents(daemon.events, env.log);

  let signals = 0;
  const removeSignals = env.onSignals(ignoringEchoes((signal) => {
    env.log.info(
      ++signals === 1
        ? `Received ${signal}: finishing in-flight jobs (send it again to force)`
        : `Received ${signal} again: forcing: killing children and putting in-flight jobs back`,
    );
    daemon.stop("signal");
  }));
  const stopWatchingParent = watchNpmParent(() => {
    env.log.warn(
      "The process that started the daemon is gone (e.g. npx was killed): stopping gracefully",
    );
    daemon.stop("signal");
  });
  try {
    return await daemon.run();
  } finally {
    removeSignals();
    stopWatchingParent();
    await connection.close();
  }
}

/** Options and job declarations are checked here: a bad one is a one-line error, exit 2. */
function createDaemon(
  options: DaemonOptions,
  connection: QueueConnection,
  fromEnv: readonly string[] = [],
): Daemon {
  try {
    return new Daemon(options);
  } catch (error) {
    void connection.close();
    const message = (error as Error).message;
    const lease = fromEnv.length > 0 && /--(lease|liveness-limit)/.test(message);
    throw new CliError(lease ? `${message} (set by ${fromEnv.join(", ")})` : message);
  }
}

/**
 * Under `deno task`, one Ctrl-C (or `kill -TERM -<pgid>`, or systemd's control-group stop)
 * reaches the daemon twice: from the process group, and forwarded by `deno task` 0.2–2.5 ms
 * later (measured, also with the CPUs busy). A repeat of the same signal within this window is
 * that one event; a deliberate second Ctrl-C comes later and forces.
 */
export const SAME_SIGNAL_MS = 250;

/** Passes each signal on, except a repeat of the last one passed within SAME_SIGNAL_MS. */
export function ignoringEchoes(
  onSignal: (signal: string) => void,
  now: () => number = () => performance.now(),
): (signal: string) => void {
  let last: { signal: string; at: number } | undefined;
  return (signal) => {
    const at = now();
    if (last?.signal === signal && at - last.at < SAME_SIGNAL_MS) return;
    last = { signal, at };
    onSignal(signal);
  };
}

/**
 * Under `npx deno …` a supervisor's SIGTERM reaches npx, which exits without passing it on (its
 * `sh -c` goes too; a `deno task` below it is re-parented and keeps running). So when npm/npx
 * started the daemon, directly or through `sh -c` and `deno task`, its loss stops the daemon
 * gracefully. Any other parent (a script, nohup, tmux) may exit and leave the daemon running.
 * Without read access to /proc there is no watch.
 */
function watchNpmParent(onGone: () => void): () => void {
  const link = belowNpm();
  if (!link) return () => {};
  const timer = setInterval(() => {
    if (parentOf(link.pid) !== link.npm) {
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/** The daemon or the wrapper (`sh -c`, `deno task`) whose parent is npm/npx, and npm's pid. */
function belowNpm(): { pid: number; npm: number } | undefined {
  let pid = Deno.pid;
  for (let hops = 0; hops < 4; hops++) {
    const parent = parentOf(pid);
    if (parent === undefined || parent <= 1) return undefined;
    const argv = commandLine(parent);
    if (isNpm(argv)) return { pid, npm: parent };
    if (!isWrapper(argv)) return undefined;
    pid = parent;
  }
  return undefined;
}

function parentOf(pid: number): number | undefined {
  if (pid === Deno.pid) return Deno.ppid;
  try {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined; // gone, or no read access
  }
}

function commandLine(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((arg) => arg !== "");
  } catch {
    return [];
  }
}

/** npm retitles itself ("npm exec deno@2.9.6 task kqueue work"); before that it is node + npx-cli.js. */
function isNpm([first = "", second = ""]: string[]): boolean {
  return /^np[mx](\s|$)/.test(first) || /(^|\/)np[mx](-cli\.js)?$/.test(second) ||
    /(^|\/)np[mx]$/.test(first);
}

function isWrapper([first = "", second = ""]: string[]): boolean {
  const name = first.slice(first.lastIndexOf("/") + 1);
  return (["sh", "bash", "dash"].includes(name) && second === "-c") ||
    (name === "deno" && second === "task");
}

/** `--child-user`: parsed, then proven at start-up by a probe child run as that user. */
async function childUserFlag(
  value: string | boolean | undefined,
  registry: JobRegistry,
): Promise<ChildUser | undefined> {
  if (value === undefined) return undefined;
  try {
    const user = parseChildUser(String(value));
    const isolated = registry.list().filter((job) => job.config.isolated && job.moduleUrl);
    await checkChildUser(
      user,
      isolated.map((job) => ({
        name: job.name,
        moduleUrl: job.moduleUrl!,
        permissions: job.config.permissions,
      })),
      Deno.cwd(),
    );
    return user;
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** `--sleep=S`: only the longest idle wait (new jobs wake the daemon), so 0 would just spin. */
function sleepFlag(values: Record<string, string | boolean | undefined>): number | undefined {
  const sleep = numberFlag(values, "sleep", SECONDS);
  if (sleep === 0) {
    throw new CliError(
      `--sleep=${values.sleep} is not valid: it is only the longest idle wait (new jobs wake the daemon at once), ` +
        `so it must be above 0: use 3 (the default) or a fraction like 0.5`,
    );
  }
  return sleep;
}

function unknownJobsFlag(value: string | boolean | undefined): "fail" | "leave" | undefined {
  if (value === undefined) return undefined;
  if (value === "fail" || value === "leave") return value;
  throw new CliError(`--unknown-jobs=${value} is not valid: use fail (the default) or leave`);
}
