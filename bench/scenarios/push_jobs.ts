/**
 * The producer: a separate process that pushes N jobs of one bench class into
 * the queue file in one transaction (so the daemon sees them all at once),
 * the way an app would dispatch them, through its own connection.
 *
 * Redis (`--connection redis`): one `pushMany`, i.e. one script call that
 * RPUSHes every payload and its notify token; the server comes from REDIS_*.
 *
 * Usage: push_jobs.ts [--connection database|redis] --database FILE --job CLASS --jobs N
 * Prints {"pushed":N,"buildSeconds":…,"insertSeconds":…}.
 */
import { parseArgs } from "node:util";
import { closeConnections, openConnection, prepareDispatch } from "../../src/mod.ts";
import * as benchJobs from "../jobs/bench_jobs.ts";
import { report } from "./scenario_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connection: { type: "string", default: "database" },
    database: { type: "string" },
    job: { type: "string" },
    jobs: { type: "string" },
  },
});

await report(async () => {
  const Class = benchJobs[values.job as keyof typeof benchJobs];
  const count = Number(values.jobs);
  if (!values.database || Class === undefined || !Number.isInteger(count) || count < 1) {
    throw new TypeError("usage: push_jobs.ts --database FILE --job CLASS --jobs N");
  }
  const name = values.connection === "redis" ? "redis" : "database";
  const connection = await openConnection({ name, databasePath: values.database });
  try {
    const built = performance.now();
    const payloads = Array.from({ length: count }, () => prepareDispatch(Class, {}).payload);
    const inserted = performance.now();
    await connection.driver.pushMany(connection.defaultQueue, payloads);
    const end = performance.now();
    return {
      pushed: count,
      buildSeconds: (inserted - built) / 1000,
      insertSeconds: (end - inserted) / 1000,
    };
  } finally {
    await connection.close();
    await closeConnections();
  }
});
