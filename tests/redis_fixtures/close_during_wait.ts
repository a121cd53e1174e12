/** A wait on long slices, then close: the process must exit at once (redis_wait_test.ts). Arg: redis port. */
import { RedisQueue } from "../../src/drivers/redis/redis_queue.ts";

const queue = await RedisQueue.open({
  endpoint: { port: Number(Deno.args[0]) },
  blockSliceMs: 20_000,
  failedJobLogger: { log: () => Promise.resolve() },
});
await queue.reserve(["default"], 1);
const waiting = queue.waitForJobs(["default"], 60_000);
await new Promise((resolve) => setTimeout(resolve, 200)); // the BLPOP is on the server
await queue.close();
await waiting;
console.log("closed");
