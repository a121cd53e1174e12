/**
 * Does the daemon's memory stay flat as jobs go through it? An embedded
 * daemon on an already-running, idle queue; a separate producer process
 * pushes `--rounds` rounds of `--per-round` jobs, one round at a time, each
 * after the previous one has drained. After each round (queue empty, every
 * job done) the daemon's RSS and V8 heap are sampled, after a GC when the
 * process runs with `--expose-gc` (so the samples compare live memory, not
 * how far the collector happens to be behind).
 *
 * Unlike the burst drains in kqueue_drain.ts, the queue never holds more
 * than one round, so growth across rounds is memory kept per job processed.
 *
 * Usage: rss_stream.ts --job CLASS --rounds R --per-round N --concurrency C
 *          [--connection database|redis] [--isolated-concurrency I] [--max-jobs-per-child M]
 * Prints {"rounds":R,"perRound":N,"rssMb":[…],"heapUsedMb":[…],"memoryMeasureMb":[…],
 * "rssIdleMb":…}; memoryMeasureMb is what `--memory` compares (heapTotal + external).
 */
import { parseArgs } from "node:util";
import { Daemon, discoverJobs, openConnection } from "../../src/mod.ts";
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

const IDLE_MS = 500;
const ROUND_TIMEOUT_MS = 300_000;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    job: { type: "string" },
    rounds: { type: "string", default: "10" },
    "per-round": { type: "string", default: "10000" },
    concurrency: { type: "string", default: "100" },
    connection: { type: "string", default: "database" },
    "isolated-concurrency": { type: "string" },
    "max-jobs-per-child": { type: "string" },
  },
});

function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

await report(() =>
  inTempDir(async (dir) => {
    const jobName = String(values.job);
    const rounds = Number(values.rounds);
    const perRound = Number(values["per-round"]);
    const name = values.connection === "redis" ? "redis" : "database";
    const databasePath = `${dir}/queue.sqlite`;
    const connection = await openConnection({ name, databasePath });
    const registry = await discoverJobs(BENCH_JOBS_DIR);
    if (!registry.get(jobName)) throw new Error(`no bench job named ${jobName}`);
    const isolated = values["isolated-concurrency"];
    const daemon = new Daemon({
      driver: connection.driver,
      registry,
      ...(connection.exceptions ? { exceptions: connection.exceptions } : {}),
      queues: [connection.defaultQueue],
      concurrency: Number(values.concurrency),
      ...(isolated ? { isolatedConcurrency: Number(isolated) } : {}),
      ...(values["max-jobs-per-child"]
        ? { pool: { maxJobsPerChild: Number(values["max-jobs-per-child"]) } }
        : {}),
      projectRoot: REPO_ROOT,
      memory: 0,
    });
    let done = 0;
    let failed = 0;
    let target = 0;
    let roundDone = Promise.withResolvers<void>();
    const settle = () => {
      if (done + failed >= target) roundDone.resolve();
    };
    daemon.events.on("job:done", () => (done++, settle()));
    for (const event of ["job:failed", "job:released", "job:requeued"] as const) {
      daemon.events.on(event, () => (failed++, settle()));
    }
    const running = daemon.run();
    const rss: number[] = [];
    const heap: number[] = [];
    const measured: number[] = [];
    try {
      await delay(IDLE_MS);
      collect();
      const rssIdleMb = rssMb();
      for (let round = 0; round < rounds; round++) {
        target += perRound;
        roundDone = Promise.withResolvers<void>();
        await withTimeout(
          Promise.all([
            pushFromAnotherProcess(name, databasePath, jobName, perRound),
            roundDone.promise,
          ]),
          ROUND_TIMEOUT_MS,
          `round ${round + 1} did not drain (${done} done, ${failed} failed of ${target})`,
        );
        if (failed > 0) throw new Error(`${failed} jobs did not succeed`);
        collect();
        rss.push(rssMb());
        const usage = Deno.memoryUsage();
        heap.push(usage.heapUsed / 1024 / 1024);
        // What --memory compares (limit_watch.ts).
        measured.push((usage.heapTotal + usage.external) / 1024 / 1024);
      }
      daemon.stop("signal");
      await running;
      return {
        rounds,
        perRound,
        job: jobName,
        rssIdleMb,
        rssMb: rss,
        heapUsedMb: heap,
        memoryMeasureMb: measured,
      };
    } finally {
      daemon.stop("forced");
      await running.catch(() => {});
      await connection.close();
    }
  })
);
