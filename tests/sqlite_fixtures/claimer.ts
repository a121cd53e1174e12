/**
 * One of several processes draining a queue: prints "ready", waits for a
 * line on stdin, then reserves (batches of Deno.args[1]) and acks until the
 * queue is empty, and prints the payloads it claimed as one JSON line.
 */
import { SqliteQueue } from "../../src/drivers/sqlite/sqlite_queue.ts";

const [path, batch] = Deno.args;
const queue = await SqliteQueue.open({ path: path!, busyDeadlineMs: 60_000 });
console.log("ready");
await Deno.stdin.readable.getReader().read();
const claimed: string[] = [];
for (;;) {
  const jobs = await queue.reserve(["default"], Number(batch));
  if (jobs.length === 0) break;
  for (const job of jobs) {
    claimed.push(job.rawPayload);
    void queue.ack(job);
  }
}
await queue.close();
console.log(JSON.stringify(claimed));
