/**
 * The latency scenario's producer: a separate process that dispatches one
 * BenchLatency job at a time at a steady rate (slot i at start + i / rate),
 * each carrying its push time, taken just before the payload is built, as an
 * app's dispatch would. One `push` (one script call) per job, awaited before
 * the next slot.
 *
 * Usage: latency_producer.ts [--connection database|redis] --database FILE --jobs N --rate R
 *          [--stages]
 * Prints {"pushed":N,"pushMsMedian":…,"lateSlots":…}; with --stages also, per
 * job, `builtMs` (prepareDispatch done) and `pushedMs` (push resolved), after its push time.
 */
import { parseArgs } from "node:util";
import { closeConnections, openConnection, prepareDispatch } from "../../src/mod.ts";
import { BenchLatency, epochMs } from "../jobs/latency_jobs.ts";
import { delay, report } from "./scenario_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    connection: { type: "string", default: "redis" },
    database: { type: "string" },
    jobs: { type: "string" },
    rate: { type: "string", default: "20" },
    stages: { type: "boolean", default: false },
  },
});

await report(async () => {
  const count = Number(values.jobs);
  const rate = Number(values.rate);
  if (!values.database || !Number.isInteger(count) || count < 1 || !(rate > 0)) {
    throw new TypeError("usage: latency_producer.ts --database FILE --jobs N --rate R");
  }
  const name = values.connection === "database" ? "database" : "redis";
  const connection = await openConnection({ name, databasePath: values.database });
  try {
    const interval = 1000 / rate;
    const pushMs: number[] = [];
    const builtMs: number[] = [];
    let lateSlots = 0;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await delay(wait);
      else lateSlots++;
      const pushedAt = epochMs();
      const { payload } = prepareDispatch(BenchLatency, { pushedAt });
      builtMs.push(epochMs() - pushedAt);
      await connection.driver.push(connection.defaultQueue, payload);
      pushMs.push(epochMs() - pushedAt);
    }
    const stages = values.stages ? { builtMs, pushedMs: [...pushMs] } : {};
    pushMs.sort((a, b) => a - b);
    return { pushed: count, pushMsMedian: pushMs[Math.floor(count / 2)], lateSlots, ...stages };
  } finally {
    await connection.close();
    await closeConnections();
  }
});
