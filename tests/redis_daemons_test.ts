/**
 * Real daemon processes (`src/cli/main.ts work --connection=redis`) sharing
 * one Redis queue: every job runs once; a daemon killed mid-run loses nothing
 * (its reservations come back once their lease lapses and run on the others).
 */
import assert from "node:assert/strict";
import { prepareDispatch } from "../src/dispatch.ts";
import { CountProbe } from "./fixtures/jobs/probe_jobs.ts";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { readLines } from "./helpers/temp_project.ts";
import { openQueue, RedisServer } from "./redis_fixtures/helpers.ts";

const PREFIX = "kqtest_";

function startDaemons(count: number, env: Record<string, string>): DaemonProcess[] {
  return Array.from({ length: count }, () =>
    new DaemonProcess([
      "work",
      "--json",
      "--connection=redis",
      "--jobs",
      FIXTURE_JOBS,
      "--stop-when-drained",
      "--sleep=1",
      "--concurrency=50",
      // A crashed daemon's jobs come back with attempts 2: with Laravel's default
      // --tries=1 they would be failed as "attempted too many times", not run again.
      "--tries=3",
    ], env));
}

async function setUp(lease: number, jobs: number) {
  const server = await RedisServer.start();
  const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-daemons-" });
  const file = `${dir}/ran.txt`;
  const { queue } = await openQueue(server, { prefix: PREFIX });
  const prepared = Array.from({ length: jobs }, (_, n) => prepareDispatch(CountProbe, { file, n }));
  await queue.pushMany("default", prepared.map((p) => p.payload));
  const uuids = prepared.map((p) => p.uuid);
  const env = server.env({
    REDIS_PREFIX: PREFIX,
    KQUEUE_LEASE: String(lease),
    DB_DATABASE: `${dir}/database.sqlite`,
  });
  const tearDown = async () => {
    await queue.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  };
  return { server, queue, file, env, uuids, tearDown };
}

async function ranCounts(file: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const line of await readLines(file)) {
    counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  }
  return counts;
}

Deno.test("redis daemons: three daemon processes run 10,000 jobs, each exactly once", async () => {
  const jobs = 10_000;
  const { queue, file, env, tearDown } = await setUp(15, jobs);
  try {
    const daemons = startDaemons(3, env);
    const statuses = await Promise.all(daemons.map((d) => d.finished(120_000)));
    statuses.forEach((status, i) => assert.equal(status.code, 0, daemons[i]!.stderr.join("\n")));
    const counts = await ranCounts(file);
    assert.equal(counts.size, jobs, "every job ran");
    assert.deepEqual([...counts.values()].filter((times) => times !== 1), [], "none ran twice");
    assert.deepEqual(await queue.counts("default"), { ready: 0, delayed: 0, reserved: 0 });
    const done = daemons.map((d) => d.events.filter(isEvent("job:done")).length);
    assert.equal(done.reduce((a, b) => a + b, 0), jobs);
  } finally {
    await tearDown();
  }
});

Deno.test("redis daemons: SIGKILL of one daemon mid-run: its reserved jobs run again once their lease lapses", async () => {
  const jobs = 3000;
  const { queue, file, env, uuids, tearDown } = await setUp(3, jobs);
  try {
    const [victim, ...survivors] = startDaemons(3, env);
    await victim!.waitFor(isEvent("job:done"), 30_000, "the victim's first job");
    await victim!.waitForCount(isEvent("job:done"), 100, 30_000, "100 jobs done by the victim");
    victim!.kill("SIGKILL");
    const killedAt = Date.now();
    await victim!.finished();
    const statuses = await Promise.all(survivors.map((d) => d.finished(120_000)));
    statuses.forEach((status, i) => assert.equal(status.code, 0, survivors[i]!.stderr.join("\n")));

    const counts = await ranCounts(file);
    assert.equal(counts.size, jobs, "no job was lost");
    assert.deepEqual(await queue.counts("default"), { ready: 0, delayed: 0, reserved: 0 });
    const retried = survivors.flatMap((d) =>
      d.events.filter((e) => e.event === "job:started" && e.job!.attempt === 2)
    );
    assert.ok(retried.length > 0, "the victim's reservations were taken over");
    for (const event of retried) {
      const after = Date.parse(event.time as string) - killedAt;
      assert.ok(after >= 800, `a take-over ${after} ms after the kill: before the lease ran out`);
    }
    // Whatever ran twice had run in the victim, unacknowledged, and was taken over.
    const retriedUuids = new Set(retried.map((e) => e.job!.uuid));
    for (const [n, times] of counts) {
      if (times > 1) assert.ok(retriedUuids.has(uuids[n]!), `job ${n} ran ${times} times`);
    }
  } finally {
    await tearDown();
  }
});
