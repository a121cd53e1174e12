/**
 * Peer for `deno task bench`: BullMQ (Node) on the bench's Redis, in the same
 * shapes as KQueue's Redis scenarios. BullMQ is loaded from the folder that
 * KQ_BULLMQ_DIR names (the bench installs it there with npm); the server from
 * REDIS_PORT, the key prefix from BULLMQ_PREFIX.
 *
 *   node bullmq_peer.mjs worker drain --jobs N --concurrency C
 *     One Worker (concurrency C) starts on the empty queue and goes idle; a
 *     separate producer process adds N no-op jobs with one addBulk
 *     (removeOnComplete: true, as KQueue and Laravel delete finished jobs).
 *     Timed from the first call of the processor to the moment a second
 *     connection (a Queue) sees wait + active + delayed + prioritized +
 *     waiting-children + paused = 0, polled every 2 ms after the worker's
 *     N-th 'completed' event (emitted once moveToFinished returned).
 *   node bullmq_peer.mjs worker latency --jobs N --warmup W --rate R --concurrency C
 *     The producer adds one job at a time (Queue.add) at R jobs/s, each with
 *     its push time (performance.timeOrigin + performance.now(), ms); the
 *     processor records start − push. The first W jobs are not counted.
 *   node bullmq_peer.mjs worker sandboxed --jobs N --concurrency C [--threads]
 *     As drain, but the processor is a file (bullmq_noop_processor.mjs) run in
 *     BullMQ's sandbox: C child processes it forks and reuses (worker threads
 *     with --threads). Timed from the first 'active' event.
 *   node bullmq_peer.mjs producer bulk|paced --jobs N [--rate R]
 *
 * A worker prints one JSON line; exits 1 with the reason on failure.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const QUEUE = "bench";
const IDLE_MS = 500;
const POLL_MS = 2;
const TIMEOUT_MS = 180_000;
const COUNTED = ["wait", "active", "delayed", "prioritized", "waiting-children", "paused"];

const require = createRequire(join(process.env.KQ_BULLMQ_DIR ?? ".", "package.json"));
const { Queue, Worker } = require("bullmq");
const connection = { host: "127.0.0.1", port: Number(process.env.REDIS_PORT) };
const prefix = process.env.BULLMQ_PREFIX ?? "bull";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    jobs: { type: "string" },
    concurrency: { type: "string", default: "100" },
    rate: { type: "string", default: "20" },
    warmup: { type: "string", default: "0" },
    threads: { type: "boolean", default: false },
  },
});
const [role, mode] = positionals;
const jobs = Number(values.jobs);

const epochMs = () => performance.timeOrigin + performance.now();
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${message} (after ${TIMEOUT_MS / 1000} s)`)),
      TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function produce() {
  const queue = new Queue(QUEUE, { connection, prefix });
  await queue.waitUntilReady();
  const opts = { removeOnComplete: true };
  if (mode === "bulk") {
    await queue.addBulk(Array.from({ length: jobs }, () => ({ name: "noop", data: {}, opts })));
  } else {
    const interval = 1000 / Number(values.rate);
    const start = performance.now();
    for (let i = 0; i < jobs; i++) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await delay(wait);
      await queue.add("noop", { pushedAt: epochMs() }, opts);
    }
  }
  await queue.close();
}

/** Runs the producer role in a separate process. */
function spawnProducer(args) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "producer", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: process.env,
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => stderr += chunk);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      code === 0 ? resolve() : reject(new Error(`the producer exited ${code}: ${stderr}`));
    });
  });
}

async function work() {
  const latency = mode === "latency";
  const warmup = latency ? Number(values.warmup) : 0;
  const total = jobs + warmup;
  const samples = [];
  let firstStartedAt;
  let lastCompletedAt;
  let completed = 0;
  let failed = 0;
  let resolveSettled;
  const settled = new Promise((resolve) => resolveSettled = resolve);
  const processor = latency
    ? (job) => {
      samples.push(epochMs() - job.data.pushedAt);
      return Promise.resolve();
    }
    : () => {
      firstStartedAt ??= performance.now();
      return Promise.resolve();
    };
  const sandboxed = mode === "sandboxed";
  const processorFile = fileURLToPath(new URL("./bullmq_noop_processor.mjs", import.meta.url));
  const worker = new Worker(QUEUE, sandboxed ? processorFile : processor, {
    connection,
    prefix,
    concurrency: Number(values.concurrency),
    ...(sandboxed ? { useWorkerThreads: values.threads } : {}),
  });
  if (sandboxed) worker.on("active", () => firstStartedAt ??= performance.now());
  const check = () => {
    if (completed + failed < total) return;
    lastCompletedAt = performance.now();
    resolveSettled();
  };
  worker.on("completed", () => (completed++, check()));
  worker.on("failed", () => (failed++, check()));
  worker.on("error", (error) => console.error(`bullmq worker: ${error.message}`));
  const observer = new Queue(QUEUE, { connection, prefix });
  try {
    await Promise.all([worker.waitUntilReady(), observer.waitUntilReady()]);
    await delay(IDLE_MS);
    const producerArgs = latency
      ? ["paced", "--jobs", String(total), "--rate", String(values.rate)]
      : ["bulk", "--jobs", String(jobs)];
    await withTimeout(
      Promise.all([spawnProducer(producerArgs), settled]),
      `${completed} of ${total} jobs completed`,
    );
    if (failed > 0) throw new Error(`${failed} of ${total} jobs failed`);
    if (latency) {
      return { jobs, warmup, samplesMs: samples.slice(warmup) };
    }
    let emptyAt;
    for (;;) {
      const counts = await observer.getJobCounts(...COUNTED);
      emptyAt = performance.now();
      if (Object.values(counts).every((n) => n === 0)) break;
      await delay(POLL_MS);
    }
    return {
      jobs: completed,
      seconds: (emptyAt - firstStartedAt) / 1000,
      lastDoneSeconds: (lastCompletedAt - firstStartedAt) / 1000,
      rssAfterMb: process.memoryUsage().rss / 1024 / 1024,
      ...(sandboxed ? { sandbox: values.threads ? "worker threads" : "child processes" } : {}),
    };
  } finally {
    await worker.close();
    await observer.close();
  }
}

try {
  if (role === "producer") await produce();
  else if (role === "worker") console.log(JSON.stringify(await work()));
  else throw new Error("usage: bullmq_peer.mjs worker|producer MODE --jobs N");
} catch (error) {
  console.error(error?.stack ?? String(error));
  process.exit(1);
}
