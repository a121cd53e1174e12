/**
 * `deno task demo`: dispatches a mix of the example jobs in ./jobs into a
 * fresh SQLite file and runs the daemon until nothing is left (retries
 * included), one line per job event, then a summary.
 */
import { closeConnections, Daemon, discoverJobs, openConnection, useConnection } from "../mod.ts";
import { dispatchDemoJobs } from "./demo_jobs.ts";
import { printDemoEvents, summary } from "./demo_output.ts";

const root = Deno.cwd();
const dir = `${root}/.tmp/demo`;
await Deno.remove(dir, { recursive: true }).catch(() => {});
await Deno.mkdir(dir, { recursive: true });
await Deno.mkdir(`${root}/storage/primes`, { recursive: true });
await Deno.mkdir(`${root}/storage/public`, { recursive: true });
const databasePath = `${dir}/database.sqlite`;

const registry = await discoverJobs(`${root}/jobs`);
const connection = await openConnection({ name: "database", databasePath, retryAfter: 90 });
useConnection(connection);
console.log(`KQueue demo: ${registry.size} job classes from ./jobs, queue in ${databasePath}\n`);

const dispatched = await dispatchDemoJobs();
console.log(`Dispatched ${dispatched} jobs. Running the daemon until the queue is drained…\n`);

const daemon = new Daemon({
  driver: connection.driver,
  registry,
  ...(connection.exceptions ? { exceptions: connection.exceptions } : {}),
  concurrency: 25,
  stopWhenDrained: true,
  sleep: 1,
});
const counts = printDemoEvents(daemon.events);
const started = performance.now();
const onSignal = () => daemon.stop("signal");
Deno.addSignalListener("SIGINT", onSignal);
const result = await daemon.run();
Deno.removeSignalListener("SIGINT", onSignal);
const seconds = (performance.now() - started) / 1000;

const failedRows = await connection.failed.list();
console.log(summary(counts, result.peakInFlight, seconds, failedRows));
await closeConnections();
Deno.exit(result.exitCode);
