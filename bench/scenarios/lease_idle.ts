/**
 * What lease extension costs an idle daemon: one embedded daemon on an empty
 * queue (SQLite temp file, or the Redis that REDIS_HOST / REDIS_PORT name),
 * with `--lease S` (0 = no supervisor Worker). Reports the time from
 * `run()` to `worker:started` (it includes the supervisor's start), the
 * supervisor's own start-up as the daemon measured it, and the process RSS
 * after the daemon has idled for a while.
 *
 * Usage: lease_idle.ts --lease S [--connection database|redis]
 * Prints one JSON line: { runToStartedMs, supervisorStartMs, rssMb }.
 */
import { parseArgs } from "node:util";
import { Daemon, discoverJobs, openConnection } from "../../src/mod.ts";
import { BENCH_JOBS_DIR, delay, inTempDir, report, rssMb } from "./scenario_io.ts";

/** Idle time before the RSS is read (the Worker's heap has settled by then). */
const IDLE_MS = 1500;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    lease: { type: "string", default: "15" },
    connection: { type: "string", default: "database" },
  },
});

await report(() =>
  inTempDir(async (dir) => {
    const name = values.connection === "redis" ? "redis" : "database";
    const connection = await openConnection({ name, databasePath: `${dir}/queue.sqlite` });
    const daemon = new Daemon({
      driver: connection.driver,
      registry: await discoverJobs(BENCH_JOBS_DIR),
      queues: [connection.defaultQueue],
      lease: Number(values.lease),
      memory: 0,
    });
    let supervisorStartMs = 0;
    const started = new Promise<number>((resolve) =>
      daemon.events.on("worker:started", (event) => {
        supervisorStartMs = event.lease?.supervisorStartMs ?? 0;
        resolve(performance.now());
      })
    );
    const runAt = performance.now();
    const running = daemon.run();
    try {
      const runToStartedMs = (await started) - runAt;
      await delay(IDLE_MS);
      return { runToStartedMs, supervisorStartMs, rssMb: rssMb() };
    } finally {
      daemon.stop("signal");
      await running;
      await connection.close();
    }
  })
);
