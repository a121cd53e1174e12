/**
 * One timed drain on an already-running, embedded KQueue daemon.
 *
 * 1. A fresh SQLite file in a temp dir; the daemon starts on the empty queue
 *    (library API: openConnection + discoverJobs + Daemon) and goes idle.
 *    `--connection redis`: the queue is on the Redis that REDIS_HOST /
 *    REDIS_PORT / REDIS_PREFIX name (the SQLite file only holds failed_jobs).
 * 2. A separate producer process pushes N jobs in one transaction (Redis: one
 *    `pushMany` call, one script).
 * 3. The clock runs from the first `job:started` (the first reservation) to the
 *    moment a second connection sees the queue empty (SQLite: the jobs table;
 *    Redis: the list + `:delayed` + `:reserved`): after the last `job:done` it
 *    polls `counts()` every POLL_MS, so the last acks are inside the measurement.
 *
 * Usage: kqueue_drain.ts --job CLASS --jobs N --concurrency C
 *          [--connection database|redis] [--isolated-concurrency I]
 *          [--max-jobs-per-child M] [--rss-samples K]
 *          [--lease S] (the daemon's lease; 0 = extension off; default: the daemon's)
 * Prints one JSON line (see `DrainResult`).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { Daemon, discoverJobs, openConnection, type QueueDriver } from "../../src/mod.ts";
import {
  BENCH_JOBS_DIR,
  delay,
  inTempDir,
  pushFromAnotherProcess,
  REPO_ROOT,
  report,
  rssMb,
  withTimeout,
} from "./scenario_io.ts";

/** How long the daemon sits on the empty queue before the push (it reserves nothing, then waits). */
const IDLE_MS = 500;
/** How often the observer connection counts rows once every job has reported done. */
const POLL_MS = 2;
/** Give up on a drain after this long. */
const DRAIN_TIMEOUT_MS = 180_000;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    job: { type: "string" },
    jobs: { type: "string" },
    concurrency: { type: "string" },
    connection: { type: "string", default: "database" },
    "isolated-concurrency": { type: "string" },
    "max-jobs-per-child": { type: "string" },
    "rss-samples": { type: "string", default: "0" },
    lease: { type: "string" },
  },
});

/** Counts events; timestamps the first start and the last settle. Listeners only count. */
class DrainWatch {
  firstStartedAt: number | undefined;
  lastSettledAt: number | undefined;
  done = 0;
  failed = 0;
  readonly rssSamplesMb: number[] = [];
  readonly #total: number;
  readonly #sampleEvery: number;
  readonly #settled = Promise.withResolvers<void>();

  constructor(daemon: Daemon, total: number, rssSamples: number) {
    this.#total = total;
    this.#sampleEvery = rssSamples > 0 ? Math.ceil(total / rssSamples) : 0;
    daemon.events.on("job:started", () => {
      this.firstStartedAt ??= performance.now();
    });
    daemon.events.on("job:done", () => {
      this.done++;
      if (this.#sampleEvery > 0 && this.done % this.#sampleEvery === 0) {
        this.rssSamplesMb.push(rssMb());
      }
      this.#check();
    });
    // Anything but success is a broken run, not a slow one: count it and end the drain.
    for (const name of ["job:failed", "job:released", "job:requeued"] as const) {
      daemon.events.on(name, () => {
        this.failed++;
        this.#check();
      });
    }
  }

  get settled(): Promise<void> {
    return this.#settled.promise;
  }

  #check(): void {
    if (this.done + this.failed < this.#total) return;
    this.lastSettledAt = performance.now();
    this.#settled.resolve();
  }
}

/** Resolves with the time the table was first seen empty. */
async function pollUntilEmpty(observer: QueueDriver, queue: string): Promise<number> {
  for (;;) {
    const counts = await observer.counts(queue);
    const now = performance.now();
    if (counts.ready + counts.delayed + counts.reserved === 0) return now;
    await delay(POLL_MS);
  }
}

await report(() =>
  inTempDir(async (dir) => {
    const jobName = String(values.job);
    const jobs = Number(values.jobs);
    const concurrency = Number(values.concurrency);
    const isolatedConcurrency = values["isolated-concurrency"] === undefined
      ? undefined
      : Number(values["isolated-concurrency"]);
    const databasePath = `${dir}/queue.sqlite`;
    const name = values.connection === "redis" ? "redis" : "database";

    const connection = await openConnection({ name, databasePath });
    const observer = await openConnection({ name, databasePath });
    const registry = await discoverJobs(BENCH_JOBS_DIR);
    if (!registry.get(jobName)) throw new Error(`no bench job named ${jobName}`);
    const daemon = new Daemon({
      driver: connection.driver,
      registry,
      ...(connection.exceptions ? { exceptions: connection.exceptions } : {}),
      queues: [connection.defaultQueue],
      concurrency,
      ...(isolatedConcurrency ? { isolatedConcurrency } : {}),
      ...(values["max-jobs-per-child"]
        ? { pool: { maxJobsPerChild: Number(values["max-jobs-per-child"]) } }
        : {}),
      projectRoot: REPO_ROOT,
      // Off so a drain is never cut short: the RSS is reported instead, against the 128 MB default.
      memory: 0,
      ...(values.lease === undefined ? {} : { lease: Number(values.lease) }),
    });
    const watch = new DrainWatch(daemon, jobs, Number(values["rss-samples"]));
    const running = daemon.run();
    try {
      await delay(IDLE_MS);
      if (daemon.inFlight !== 0 || watch.firstStartedAt !== undefined) {
        throw new Error("the daemon was not idle before the push");
      }
      const rssIdleMb = rssMb();
      const cpuBefore = process.cpuUsage();
      const [push] = await withTimeout(
        Promise.all([pushFromAnotherProcess(name, databasePath, jobName, jobs), watch.settled]),
        DRAIN_TIMEOUT_MS,
        `drain of ${jobs} ${jobName} jobs did not finish (${watch.done} done, ${watch.failed} failed)`,
      );
      const emptyAt = await withTimeout(
        pollUntilEmpty(observer.driver, connection.defaultQueue),
        DRAIN_TIMEOUT_MS,
        "the queue never became empty",
      );
      const cpu = process.cpuUsage(cpuBefore);
      const rssAfterMb = rssMb();
      const heapUsedAfterMb = Deno.memoryUsage().heapUsed / 1024 / 1024;
      const started = watch.firstStartedAt!;
      if (watch.failed > 0) throw new Error(`${watch.failed} of ${jobs} jobs did not succeed`);
      daemon.stop("signal");
      const result = await running;
      return {
        jobs: watch.done,
        seconds: (emptyAt - started) / 1000,
        lastDoneSeconds: (watch.lastSettledAt! - started) / 1000,
        pushBuildSeconds: push.buildSeconds,
        pushInsertSeconds: push.insertSeconds,
        rssIdleMb,
        rssAfterMb,
        rssSamplesMb: watch.rssSamplesMb,
        heapUsedAfterMb,
        maxLagMs: result.maxLagMs,
        daemonCpuUsPerJob: (cpu.user + cpu.system) / watch.done,
        peakInFlight: result.peakInFlight,
        stopReason: result.reason,
      };
    } finally {
      daemon.stop("forced");
      await running.catch(() => {});
      await observer.close();
      await connection.close();
    }
  })
);
