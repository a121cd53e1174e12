/**
 * Outages: an unreachable server is one clear line; killed connections and a
 * redis-server restart (AOF) mid-run lose nothing and run every job once.
 */
import assert from "node:assert/strict";
import { openConnection } from "../src/connection.ts";
import { prepareDispatch } from "../src/dispatch.ts";
import { RedisQueue } from "../src/drivers/redis/redis_queue.ts";
import { JobRegistry } from "../src/jobs/registry.ts";
import { KQueueJob } from "../src/mod.ts";
import { Daemon } from "../src/runtime/daemon.ts";
import { MemoryFailedJobs, openQueue, RedisServer } from "./redis_fixtures/helpers.ts";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { LongProbe } from "./fixtures/jobs/probe_jobs.ts";

const runs = new Map<number, number>();

/** Counts its runs by `n`. */
class Tally extends KQueueJob {
  n = 0;
  override tries = 5;

  override handle(): void {
    runs.set(this.n, (runs.get(this.n) ?? 0) + 1);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function pushTallies(queue: RedisQueue, count: number): Promise<void> {
  const payloads = Array.from({ length: count }, (_, n) => prepareDispatch(Tally, { n }).payload);
  await queue.pushMany("default", payloads);
}

/** Runs a daemon until drained; calls `during(doneSoFar)` on each finished job. */
async function drain(queue: RedisQueue, during: (done: number) => void) {
  const registry = new JobRegistry();
  registry.register(Tally);
  const daemon = new Daemon({
    driver: queue,
    registry,
    concurrency: 20,
    stopWhenDrained: true,
    sleep: 1,
    memory: 0,
    storeTimeout: 30,
  });
  let done = 0;
  const storeErrors: string[] = [];
  daemon.events.on("job:done", () => during(++done));
  daemon.events.on("store:error", (e) => storeErrors.push(e.error.message));
  const result = await daemon.run();
  return { result, storeErrors };
}

function assertEachRanOnce(count: number): void {
  const missing = [];
  const twice = [];
  for (let n = 0; n < count; n++) {
    const times = runs.get(n) ?? 0;
    if (times === 0) missing.push(n);
    if (times > 1) twice.push(n);
  }
  assert.deepEqual({ missing: missing.slice(0, 10), twice: twice.slice(0, 10) }, {
    missing: [],
    twice: [],
  });
  assert.equal(runs.size, count);
}

Deno.test("redis outage: an unreachable server is one line naming it and the variables", async () => {
  const port = freePort();
  await assert.rejects(
    RedisQueue.open({
      endpoint: { port },
      failedJobLogger: new MemoryFailedJobs(),
      connectTimeoutMs: 500,
    }),
    (error: Error) => {
      assert.equal(
        error.message,
        `Cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED): is redis-server running? (REDIS_HOST/REDIS_PORT)`,
      );
      return true;
    },
  );
  const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-url-" });
  try {
    const env: Record<string, string> = {
      REDIS_URL: `redis://127.0.0.1:${port}/2`,
      DB_DATABASE: `${dir}/database.sqlite`,
    };
    await assert.rejects(
      openConnection({ name: "redis", env: (name) => env[name] }),
      /^StoreUnreachableError: Cannot reach Redis at 127\.0\.0\.1:\d+ \(ECONNREFUSED\): is redis-server running\? \(REDIS_URL\)$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("redis outage: a missing or wrong password is one line naming REDIS_PASSWORD", async () => {
  const server = await RedisServer.start({ args: ["--requirepass", "s3cret"] });
  try {
    const open = (password?: string) =>
      RedisQueue.open({
        endpoint: { port: server.port, ...(password ? { password } : {}) },
        failedJobLogger: new MemoryFailedJobs(),
        connectTimeoutMs: 500,
      });
    await assert.rejects(
      open(),
      /^Error: Cannot connect as Redis at 127\.0\.0\.1:\d+ requires a password \(NOAUTH\): set REDIS_PASSWORD$/,
    );
    await assert.rejects(
      open("wrong"),
      /^Error: Cannot connect as Redis at 127\.0\.0\.1:\d+ refused the login \(WRONGPASS .*\): check REDIS_USERNAME\/REDIS_PASSWORD$/,
    );
    const queue = await open("s3cret");
    await queue.close();
  } finally {
    await server.stop();
  }
});

Deno.test("redis outage: a reserve while Redis is down fails fast with that line, and works once it is back", async () => {
  const server = await RedisServer.start({ appendOnly: true });
  const { queue } = await openQueue(server);
  try {
    await queue.push("default", JSON.stringify({ uuid: "u", job: "x", data: {} }));
    await server.kill("SIGTERM");
    const started = performance.now();
    await assert.rejects(
      queue.reserve(["default"], 1),
      new RegExp(
        `^StoreUnreachableError: Cannot reach Redis at 127\\.0\\.0\\.1:${server.port} \\(ECONNREFUSED\\)`,
      ),
    );
    assert.ok(performance.now() - started < 2000, "no hang");
    await server.restart();
    const [job] = await queue.reserve(["default"], 1);
    assert.equal(job!.attempts, 1, "the pushed job survived the restart (AOF)");
    await queue.ack(job!);
  } finally {
    await queue.close();
    await server.stop();
  }
});

Deno.test("redis outage: CLIENT KILL of the driver's connections mid-run: acks replayed, each job run once", async () => {
  runs.clear();
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue } = await openQueue(server, { retryAfter: 3 });
  const count = 3000;
  try {
    await pushTallies(queue, count);
    let kills = 0;
    const { result } = await drain(queue, (done) => {
      if (done % 700 === 0) {
        kills++;
        void raw.client("KILL", "TYPE", "normal", "SKIPME", "yes");
      }
    });
    assert.equal(result.reason, "drained");
    assert.equal(kills, 4);
    assertEachRanOnce(count);
    assert.ok(queue.stats.reconnects >= kills, `reconnected ${queue.stats.reconnects} times`);
    assert.deepEqual(await queue.counts("default"), { ready: 0, delayed: 0, reserved: 0 });
  } finally {
    await queue.close();
    await server.stop();
  }
});

Deno.test("redis outage: a redis-server crash and restart (AOF) mid-run: every job completes exactly once", async () => {
  runs.clear();
  const server = await RedisServer.start({ appendOnly: true });
  const { queue } = await openQueue(server, { retryAfter: 5 });
  const count = 3000;
  try {
    await pushTallies(queue, count);
    let restarted: Promise<void> | undefined;
    const { result, storeErrors } = await drain(queue, (done) => {
      if (done !== 1000) return;
      // SIGKILL, then 600 ms down: commands fail, the daemon's reserves error out and retry.
      restarted = server.kill("SIGKILL")
        .then(() => new Promise((resolve) => setTimeout(resolve, 600)))
        .then(() => server.restart());
    });
    await restarted;
    assert.ok(storeErrors.length > 0, "reserves failed while Redis was down");
    assert.ok(queue.stats.replays > 0, "settles cut off by the crash were sent again");
    assert.equal(result.reason, "drained");
    assertEachRanOnce(count);
    assert.deepEqual(await queue.counts("default"), { ready: 0, delayed: 0, reserved: 0 });
    for (const message of storeErrors) {
      assert.match(message, /^Cannot reach Redis at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    }
  } finally {
    await queue.close();
    await server.stop();
  }
});

Deno.test("redis outage: a daemon that loses Redis while a job runs says its ack was given up, then exits 1", async () => {
  const server = await RedisServer.start();
  const dir = await Deno.makeTempDir({ prefix: "kqueue-ack-lost-" });
  try {
    const { queue } = await openQueue(server, { prefix: "kqtest_" });
    const job = prepareDispatch(LongProbe, { file: `${dir}/long.txt`, ms: 1500 });
    await queue.push("default", job.payload);
    await queue.close();
    const env = server.env({ REDIS_PREFIX: "kqtest_", DB_DATABASE: `${dir}/failed.sqlite` });
    const args = ["work", "--json", "--jobs", FIXTURE_JOBS, "--store-timeout=1", "--sleep=1"];
    const daemon = new DaemonProcess(args, env);
    await daemon.waitFor(isEvent("probe:started"));
    await server.kill("SIGKILL");
    const status = await daemon.finished();
    assert.equal(status.code, 1, daemon.stderr.join("\n"));
    assert.ok(daemon.events.some(isEvent("job:done", "LongProbe")), "the job itself finished");
    const givenUp = daemon.events.filter((e) =>
      e.event === "store:error" && e.operation === "ack" && e.givenUp === true
    );
    assert.equal(givenUp.length, 1, JSON.stringify(daemon.events.map((e) => e.event)));
    assert.equal(givenUp[0]!.error!.message, "the daemon stopped before the store took its ack");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
