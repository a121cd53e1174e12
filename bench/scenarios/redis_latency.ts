/**
 * Enqueue → start latency at low load, on an already-running embedded
 * daemon: the daemon starts on the empty queue and goes idle (blocked in
 * `waitForJobs`); a separate producer process dispatches one job at a time
 * at `--rate` jobs/s, each carrying its push time; each job records
 * (its handle() start − its push time), both as
 * `performance.timeOrigin + performance.now()`. The first `--warmup` jobs
 * (cold scripts and code paths on both sides) are not counted.
 *
 * Usage: redis_latency.ts --jobs N --warmup W --rate R --concurrency C
 *          [--connection redis|database] [--stages]
 * Prints {"jobs":N,"warmup":W,"samplesMs":[…],"producer":{…},"maxLagMs":…};
 * --stages adds where each job's wait went (see stage_marks.ts).
 */
import { parseArgs } from "node:util";
import { Daemon, discoverJobs, openConnection } from "../../src/mod.ts";
import { latencySamples } from "../jobs/latency_jobs.ts";
import { StageMarks } from "./stage_marks.ts";
import { BENCH_JOBS_DIR, delay, inTempDir, REPO_ROOT, report, withTimeout } from "./scenario_io.ts";

const IDLE_MS = 500;
const TIMEOUT_MS = 120_000;
const PRODUCER = new URL("./latency_producer.ts", import.meta.url).pathname;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connection: { type: "string", default: "redis" },
    jobs: { type: "string" },
    warmup: { type: "string", default: "10" },
    rate: { type: "string", default: "20" },
    concurrency: { type: "string", default: "100" },
    stages: { type: "boolean", default: false },
  },
});

async function produce(connection: string, databasePath: string, jobs: number, rate: number) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", PRODUCER, "--connection", connection, "--database", databasePath],
      ...["--jobs", String(jobs), "--rate", String(rate)],
      ...(values.stages ? ["--stages"] : []),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`the producer failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)) as Record<string, unknown>;
}

await report(() =>
  inTempDir(async (dir) => {
    const jobs = Number(values.jobs);
    const warmup = Number(values.warmup);
    const total = jobs + warmup;
    const name = values.connection === "database" ? "database" : "redis";
    const databasePath = `${dir}/queue.sqlite`;
    const connection = await openConnection({ name, databasePath });
    const marks = values.stages ? await StageMarks.install(connection.driver) : undefined;
    const registry = await discoverJobs(BENCH_JOBS_DIR);
    const daemon = new Daemon({
      driver: connection.driver,
      registry,
      ...(connection.exceptions ? { exceptions: connection.exceptions } : {}),
      queues: [connection.defaultQueue],
      concurrency: Number(values.concurrency),
      projectRoot: REPO_ROOT,
      memory: 0,
    });
    let settled = 0;
    let failed = 0;
    const allSettled = Promise.withResolvers<void>();
    const onSettled = () => {
      if (++settled >= total) allSettled.resolve();
    };
    daemon.events.on("job:done", onSettled);
    if (marks) daemon.events.on("job:started", () => marks.mark("started"));
    for (const event of ["job:failed", "job:released", "job:requeued"] as const) {
      daemon.events.on(event, () => (failed++, onSettled()));
    }
    const running = daemon.run();
    try {
      await delay(IDLE_MS);
      const [producer] = await withTimeout(
        Promise.all([produce(name, databasePath, total, Number(values.rate)), allSettled.promise]),
        TIMEOUT_MS,
        `latency run did not finish (${settled} of ${total} settled)`,
      );
      if (failed > 0) throw new Error(`${failed} of ${total} jobs did not succeed`);
      const samples = latencySamples();
      if (samples.length !== total) throw new Error(`${samples.length} samples for ${total} jobs`);
      daemon.stop("signal");
      const result = await running;
      const counted = samples.slice(warmup);
      return {
        jobs,
        warmup,
        samplesMs: counted.map((s) => s.startedAt - s.pushedAt),
        producer,
        maxLagMs: result.maxLagMs,
        ...(marks ? { stages: marks.breakdown(samples, producer, warmup) } : {}),
      };
    } finally {
      daemon.stop("forced");
      await running.catch(() => {});
      await connection.close();
    }
  })
);
