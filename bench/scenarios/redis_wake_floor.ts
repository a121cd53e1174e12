/**
 * The floor under any Redis queue's enqueue → start latency on this
 * machine: no queue at all, just a bare `RPUSH` from one idle process waking
 * a `BLPOP` in another (ioredis on both sides), at the latency scenario's
 * rate, each value carrying its push time (`epochMs`, taken before the
 * RPUSH). What it measures is the two processes' wake-ups and one Redis
 * hop; a queue adds building the payload, its scripts and its own work on
 * top. Run on the bench's redis-server (REDIS_PORT; its own key).
 *
 * Usage: redis_wake_floor.ts --jobs N --warmup W --rate R
 * Prints {"jobs":N,"warmup":W,"samplesMs":[…]}.
 */
import { parseArgs } from "node:util";
import { Redis } from "../../src/drivers/redis/ioredis.ts";
import { epochMs } from "../jobs/latency_jobs.ts";
import { delay, report } from "./scenario_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string" },
    warmup: { type: "string", default: "10" },
    rate: { type: "string", default: "20" },
    waiter: { type: "boolean", default: false },
  },
});
const port = Number(Deno.env.get("REDIS_PORT") ?? 6379);
const key = `${Deno.env.get("REDIS_PREFIX") ?? ""}wake-floor`;
const total = Number(values.jobs) + Number(values.warmup);

/** The waiting side (a child process): BLPOPs `total` values, prints arrival − push of each. */
async function waiter(): Promise<void> {
  const redis = new Redis({ port });
  await redis.ping();
  console.log("ready");
  const samples: number[] = [];
  for (let i = 0; i < total; i++) {
    const reply = await redis.blpop(key, 30);
    const arrived = epochMs();
    if (reply === null) throw new Error("no push within 30 s");
    samples.push(arrived - Number(reply[1]));
  }
  redis.disconnect();
  console.log(JSON.stringify(samples));
}

if (values.waiter) {
  await waiter();
} else {
  await report(async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(import.meta.url).pathname, "--waiter", ...Deno.args],
      stdout: "piped",
      stderr: "inherit",
      env: { REDIS_PORT: String(port), REDIS_PREFIX: Deno.env.get("REDIS_PREFIX") ?? "" },
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let output = "";
    while (!output.includes("ready\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the waiter ended before it was ready");
      output += value;
    }
    const redis = new Redis({ port });
    await redis.ping();
    const interval = 1000 / Number(values.rate);
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await delay(wait);
      await redis.rpush(key, String(epochMs()));
    }
    redis.disconnect();
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      output += value;
    }
    if (!(await child.status).success) throw new Error("the waiter failed");
    const samples = JSON.parse(output.slice(output.indexOf("ready\n") + 6)) as number[];
    return {
      jobs: Number(values.jobs),
      warmup: Number(values.warmup),
      samplesMs: samples.slice(Number(values.warmup)),
    };
  });
}
