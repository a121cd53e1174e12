/** Opens a queue, starts a long wait and an ack, closes: the process must then exit by itself. */
import { SqliteQueue } from "../../src/drivers/sqlite/sqlite_queue.ts";

const queue = await SqliteQueue.open({ path: Deno.args[0]! });
await queue.push("default", "{}");
const [job] = await queue.reserve(["default"], 1);
const acked = queue.ack(job!);
const waiting = queue.waitForJobs(["default"], 600_000);
await queue.close();
await Promise.all([acked, waiting]);
console.log("closed");
