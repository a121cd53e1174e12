/** The Redis lines of the machine facts: server, BullMQ, Node and phpredis versions. */
import { commandOutput } from "../runner.ts";
import type { BullmqSetup } from "./redis_runner.ts";
import type { BenchRedis } from "./redis_server.ts";

export async function redisFacts(
  redis: BenchRedis | undefined,
  bullmq: BullmqSetup,
): Promise<string[]> {
  const server = redis === undefined
    ? `redis-server not available (${
      await commandOutput("redis-server", ["--version"]) ?? "not installed"
    })`
    : `redis-server ${await redis
      .version()} (the bench's own, 127.0.0.1:${redis.port}, no persistence)`;
  const node = await commandOutput("node", ["--version"]);
  const peer = "skipped" in bullmq
    ? bullmq.skipped
    : `BullMQ ${bullmq.version} (with ioredis ${await ioredisVersion(
      bullmq.dir,
    )}) in ${bullmq.dir}`;
  const phpredis = await commandOutput("php", ["-r", "echo phpversion('redis') ?: 'none';"]);
  return [
    server,
    `Node ${node ?? "not installed"}; ${peer}`,
    `phpredis ${phpredis ?? "n/a (no php)"}`,
  ];
}

async function ioredisVersion(dir: string): Promise<string> {
  try {
    const text = await Deno.readTextFile(`${dir}/node_modules/ioredis/package.json`);
    return String(JSON.parse(text).version);
  } catch {
    return "unknown";
  }
}
