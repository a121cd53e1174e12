/**
 * Opens the redis connection (queue, failed store, Redis exception counter),
 * leaves an unawaited ack, a long wait and a used counter pending, closes:
 * the process must then exit by itself. Args: redis port, sqlite path.
 */
import { openConnection } from "../../src/connection.ts";

const [port, databasePath] = Deno.args as [string, string];
const env: Record<string, string> = {
  QUEUE_CONNECTION: "redis",
  REDIS_PORT: port,
  DB_DATABASE: databasePath,
  CACHE_STORE: "redis",
};
const connection = await openConnection({ env: (name) => env[name] });
await connection.driver.push("default", JSON.stringify({ uuid: "u", job: "x", data: {} }));
const [job] = await connection.driver.reserve(["default"], 1);
const acked = connection.driver.ack(job!);
await connection.exceptions!.increment("u");
const waiting = connection.driver.waitForJobs(["default"], 600_000);
await connection.close();
await Promise.all([acked, waiting]);
console.log("closed");
