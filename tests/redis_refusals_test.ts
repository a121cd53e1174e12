/**
 * Redis answering with an error is not an outage: a queue whose key has the
 * wrong type is set aside with one clear line while the other queues are
 * served, and a refused reserve (an ACL) is reported once; neither makes the
 * daemon give up after --store-timeout, and no job is lost or moved.
 */
import assert from "node:assert/strict";
import { prepareDispatch } from "../src/dispatch.ts";
import type { Redis } from "../src/drivers/redis/ioredis.ts";
import { RedisQueue } from "../src/drivers/redis/redis_queue.ts";
import type { KQueueEvents } from "../src/events.ts";
import { JobRegistry } from "../src/jobs/registry.ts";
import { type JobContext, KQueueJob } from "../src/mod.ts";
import { Daemon, type DaemonResult } from "../src/runtime/daemon.ts";
import { CountProbe } from "./fixtures/jobs/probe_jobs.ts";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { readLines } from "./helpers/temp_project.ts";
import { MemoryFailedJobs, openQueue, RedisServer, until } from "./redis_fixtures/helpers.ts";

const ran: string[] = [];

/** Records "<queue> <n>" when it runs. */
class Mark extends KQueueJob {
  n = 0;

  override handle(context: JobContext): void {
    ran.push(`${context.queue} ${this.n}`);
  }
}

const marks = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => prepareDispatch(Mark, { n: from + i }).payload);

/** How many WRONGTYPE replies the server has sent (each reserve that met a bad key). */
async function wrongTypeReplies(raw: Redis): Promise<number> {
  const info = await raw.info("errorstats");
  return Number(/errorstat_WRONGTYPE:count=(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * Collects the events named, and lets a test await a count of one of them
 * (rejecting if the daemon stops first).
 */
function record(daemon: Daemon, names: readonly (keyof KQueueEvents)[]) {
  const seen = new Map<keyof KQueueEvents, unknown[]>(names.map((name) => [name, []]));
  let stopped: KQueueEvents["worker:stopped"] | undefined;
  let waiters: Array<() => void> = [];
  const wakeAll = () => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  for (const name of names) {
    daemon.events.on(name, (event) => {
      seen.get(name)!.push(event);
      wakeAll();
    });
  }
  daemon.events.on("worker:stopped", (event) => {
    stopped = event;
    wakeAll();
  });
  const of = <N extends keyof KQueueEvents>(name: N) => seen.get(name) as KQueueEvents[N][];
  const next = (name: keyof KQueueEvents, count = 1): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (of(name).length >= count) resolve();
        else if (stopped) reject(new Error(`stopped (${stopped.reason}) before ${count} ${name}`));
        else waiters.push(check);
      };
      check();
    });
  return { of, next };
}

Deno.test("redis refusals: a key of the wrong type sets its queue aside with one line; the others run; it runs once fixed", async () => {
  ran.length = 0;
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue } = await openQueue(server);
  const registry = new JobRegistry();
  registry.register(Mark);
  const daemon = new Daemon({
    driver: queue,
    registry,
    queues: ["high", "default", "low"],
    concurrency: 4,
    sleep: 1,
    memory: 0,
    lease: 0,
    // Were an error reply taken for an outage, this would stop the daemon at its second try.
    storeTimeout: 0,
  });
  const events = record(daemon, [
    "queue:set-aside",
    "queue:restored",
    "store:error",
    "job:done",
    "worker:stopping",
  ]);
  let run: Promise<DaemonResult> | undefined;
  try {
    await raw.set("queues:high", "not a list");
    await queue.pushMany("low", marks(2, 100));
    await raw.hset("queues:low:reserved", "field", "not a zset");
    await queue.pushMany("default", marks(5));

    run = daemon.run();
    await events.next("job:done", 5);
    assert.deepEqual(ran.toSorted(), [
      "default 0",
      "default 1",
      "default 2",
      "default 3",
      "default 4",
    ]);
    assert.deepEqual(events.of("queue:set-aside"), [
      {
        queue: "high",
        problem: "Redis key queues:high is a string, not a list: delete or rename the key",
        recheckSeconds: 1,
      },
      {
        queue: "low",
        problem: "Redis key queues:low:reserved is a hash, not a zset: delete or rename the key",
        recheckSeconds: 1,
      },
    ]);

    // Tried again every second (one WRONGTYPE reply per try): reported once, and still running.
    const before = await wrongTypeReplies(raw);
    await until(() => wrongTypeReplies(raw), (n) => n >= before + 4, "two more tries of each");
    assert.equal(events.of("queue:set-aside").length, 2, "no repeated line per try");
    assert.deepEqual(events.of("store:error"), [], "not reported as a storage outage");
    assert.deepEqual(events.of("worker:stopping"), [], "not stopped by --store-timeout");
    assert.equal(await raw.get("queues:high"), "not a list", "the key is left as it was");
    assert.equal(await raw.llen("queues:low"), 2, "the low jobs are left where they were");

    await raw.del("queues:high");
    await queue.pushMany("high", marks(2, 200));
    await raw.del("queues:low:reserved");
    await events.next("job:done", 9);
    await events.next("queue:restored", 2);
    assert.deepEqual(
      events.of("queue:restored").map((e) => e.queue).toSorted(),
      ["high", "low"],
    );
    assert.deepEqual(ran.slice(5).toSorted(), ["high 200", "high 201", "low 100", "low 101"]);
    daemon.stop();
    assert.equal((await run).reason, "signal");
    await queue.close(); // flushes the last acks
    assert.deepEqual(await raw.keys("queues:*"), [], "every job acked, none left anywhere");
  } finally {
    daemon.stop();
    await run?.catch(() => {});
    await queue.close();
    await server.stop();
  }
});

Deno.test("redis refusals: a reserve refused by an ACL is one line, not a lost store; it works once allowed", async () => {
  ran.length = 0;
  const server = await RedisServer.start();
  const raw = server.client();
  await raw.call("ACL", "SETUSER", "worker", "on", ">s3cret", "~*", "&*", "+@all", "-evalsha");
  const queue = await RedisQueue.open({
    endpoint: { port: server.port, username: "worker", password: "s3cret" },
    failedJobLogger: new MemoryFailedJobs(),
  });
  const registry = new JobRegistry();
  registry.register(Mark);
  const daemon = new Daemon({
    driver: queue,
    registry,
    sleep: 1,
    memory: 0,
    lease: 0,
    storeTimeout: 0,
  });
  const events = record(daemon, ["store:error", "store:recovered", "job:done", "worker:stopping"]);
  let run: Promise<DaemonResult> | undefined;
  try {
    const { queue: producer } = await openQueue(server);
    await producer.pushMany("default", marks(3));
    await producer.close();
    run = daemon.run();
    await events.next("store:error");
    const [refusal] = events.of("store:error");
    assert.equal(refusal!.refused, true);
    assert.equal(refusal!.error.name, "StoreRefusedError");
    assert.match(
      refusal!.error.message,
      /^Cannot reserve jobs as Redis at 127\.0\.0\.1:\d+ replied: NOPERM .*evalsha/,
    );
    // The backoff doubles from 50 ms: by the 5th refused call the 0 s store timeout is long past.
    const refusedCalls = async () => {
      const info = await raw.info("errorstats");
      return Number(/errorstat_NOPERM:count=(\d+)/.exec(info)?.[1] ?? 0);
    };
    await until(refusedCalls, (n) => n >= 5, "five refused reserves");
    assert.equal(events.of("store:error").length, 1, "reported once, not on every retry");
    assert.deepEqual(events.of("worker:stopping"), [], "not given up as unreachable");
    assert.equal(await raw.llen("queues:default"), 3, "nothing was taken");

    await raw.call("ACL", "SETUSER", "worker", "+evalsha");
    await events.next("job:done", 3);
    assert.equal(events.of("store:recovered").length, 1);
    assert.deepEqual(ran.toSorted(), ["default 0", "default 1", "default 2"]);
  } finally {
    daemon.stop();
    await run?.catch(() => {});
    await queue.close();
    await server.stop();
  }
});

Deno.test("redis refusals: the CLI names the key once, serves the other queue, and exits 0", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-refusals-" });
  const { queue } = await openQueue(server, { prefix: "app_" });
  try {
    const file = `${dir}/ran.txt`;
    await raw.set("app_queues:broken", "oops");
    await queue.pushMany(
      "default",
      [0, 1, 2].map((n) => prepareDispatch(CountProbe, { file, n }).payload),
    );
    const daemon = new DaemonProcess(
      [
        "work",
        "--connection=redis",
        "--queue=broken,default",
        "--jobs",
        FIXTURE_JOBS,
        "--stop-when-drained",
        "--sleep=1",
        "--store-timeout=0",
      ],
      server.env({ REDIS_PREFIX: "app_", DB_DATABASE: `${dir}/database.sqlite` }),
    );
    const status = await daemon.finished();
    const log = daemon.stderr.join("\n");
    assert.equal(status.code, 0, log);
    assert.deepEqual((await readLines(file)).toSorted(), ["0", "1", "2"]);
    const lines = daemon.stderr.filter((line) => line.includes("app_queues:broken"));
    assert.equal(lines.length, 1, log);
    assert.match(
      lines[0]!,
      /Queue broken is set aside, its jobs left where they are: Redis key app_queues:broken is a string, not a list: delete or rename the key; the other queues are served meanwhile/,
    );
    assert.doesNotMatch(log, /Storage error|store-lost|Cannot reach/);
    assert.equal(await raw.get("app_queues:broken"), "oops");
    assert.equal(daemon.events.filter(isEvent("job:done")).length, 0, "human output, not --json");
  } finally {
    await queue.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

let openGate: (() => void) | undefined;

/** Runs until the test opens its gate. */
class Gated extends KQueueJob {
  override async handle(): Promise<void> {
    await new Promise<void>((resolve) => openGate = resolve);
    ran.push("gated");
  }
}

Deno.test("redis refusals: an ack refused while Redis rejects writes is written once they are allowed; the job runs once and is not failed", async () => {
  ran.length = 0;
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue, failed } = await openQueue(server);
  const registry = new JobRegistry();
  registry.register(Gated);
  const daemon = new Daemon({ driver: queue, registry, sleep: 1, memory: 0, storeTimeout: 0 });
  const events = record(daemon, ["job:started", "job:done", "store:error", "job:failed"]);
  let run: Promise<DaemonResult> | undefined;
  try {
    await queue.push("default", prepareDispatch(Gated, {}).payload);
    run = daemon.run();
    await events.next("job:started");
    await until(() => Promise.resolve(openGate), (gate) => gate !== undefined, "the job running");
    // Every write is refused now (NOREPLICAS), the ack's included.
    await raw.config("SET", "min-replicas-to-write", "1");
    openGate!();
    await events.next("job:done");
    await until(
      () => Promise.resolve(events.of("store:error").filter((e) => e.operation === "ack").length),
      (n) => n >= 2,
      "the refused ack tried again",
    );
    assert.match(events.of("store:error")[0]!.error.message, /NOREPLICAS/);
    assert.equal(await raw.zcard("queues:default:reserved"), 1, "not acked while refused");
    await raw.config("SET", "min-replicas-to-write", "0");
    await until(() => raw.zcard("queues:default:reserved"), (n) => n === 0, "the ack written");
    assert.deepEqual(ran, ["gated"]);
    assert.deepEqual(events.of("job:failed"), []);
    assert.deepEqual(failed.entries, []);
    assert.deepEqual(await raw.keys("queues:*"), [], "nothing left to run again");
  } finally {
    openGate?.();
    daemon.stop();
    await run?.catch(() => {});
    await queue.close();
    await server.stop();
  }
});

Deno.test("redis refusals: a push onto a key of the wrong type names the key, its type and the fix", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue } = await openQueue(server);
  try {
    const payload = prepareDispatch(Mark, { n: 1 }).payload;
    await raw.set("queues:default", "not a list");
    await assert.rejects(
      queue.push("default", payload),
      (error: Error) => {
        assert.equal(error.name, "StoreRefusedError");
        assert.equal(
          error.message,
          "Cannot push jobs to queue 'default' as Redis key queues:default is a string, " +
            "not a list: delete or rename the key",
        );
        return true;
      },
    );
    await raw.del("queues:default");
    await raw.hset("queues:default:delayed", "field", "not a zset");
    await assert.rejects(
      queue.push("default", payload, { delay: 30 }),
      /Redis key queues:default:delayed is a hash, not a zset: delete or rename the key/,
    );
    await raw.del("queues:default:delayed");
    await queue.push("default", payload); // fixed: pushes again
    assert.equal(await raw.llen("queues:default"), 1);
  } finally {
    await queue.close();
    await server.stop();
  }
});
