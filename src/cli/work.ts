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
import { ignoringEchoes, watchNpmParent } from "./stop_signals.ts";

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
