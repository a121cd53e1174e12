/**
 * The lease scenarios, run by tests/lease_sqlite_test.ts and
 * tests/lease_redis_test.ts on each store: real daemon processes, a second
 * daemon watching the same queue, and whole-second storage clocks (so each
 * scenario costs seconds: the test files run them side by side).
 */
import assert from "node:assert/strict";
import { LongProbe } from "../fixtures/jobs/probe_jobs.ts";
import { BlocksMainThread, SlowUntilRetried, WaitsThenFails } from "../fixtures/jobs/lease_jobs.ts";
import { type DaemonEvent, DaemonProcess, FIXTURE_JOBS, isEvent } from "./daemon_process.ts";
import { openLeaseStore, type StoreKind } from "./lease_store.ts";
import { readLines } from "./temp_project.ts";

function daemon(env: Record<string, string>, flags: string[]): DaemonProcess {
  return new DaemonProcess(["work", "--json", "--jobs", FIXTURE_JOBS, "--sleep=1", ...flags], env);
}

const timeOf = (event: DaemonEvent) => Date.parse(event.time as string);
const ran = (d: DaemonProcess) => d.events.filter(isEvent("job:started"));
/** The attempts of `name` that any of the daemons reserved, in order. */
const attemptsOf = (name: string, ...daemons: DaemonProcess[]) =>
  daemons.flatMap((d) => d.events.filter(isEvent("job:started", name))).map((e) => e.job!.attempt)
    .sort();

/** Both daemons stop gracefully (exit 0). */
async function stopBoth(...daemons: DaemonProcess[]): Promise<void> {
  for (const d of daemons) d.kill("SIGTERM");
  for (const d of daemons) assert.equal((await d.finished()).code, 0, d.stderr.join("\n"));
}

/**
 * A 20 s job with retry_after=3 and a 3 s lease (shorter than the job), and
 * beside it a job that is released and then failed after several
 * extensions: each attempt runs once, the second daemon takes nothing, and
 * the ack, release and fail all still match their (extended) reservation.
 */
export async function longJobRunsOnce(kind: StoreKind): Promise<void> {
  const store = await openLeaseStore(kind);
  try {
    const long = `${store.dir}/long.txt`;
    const failing = `${store.dir}/failing.txt`;
    await store.dispatch(LongProbe, { file: long, ms: 20_000 });
    // On a queue only the first daemon watches: its released attempt must come back to it.
    await store.dispatch(WaitsThenFails, { file: failing, ms: 2500 }, "side");
    const flags = ["--retry-after=3", "--lease=3", "--lease-renew=0.5"];
    const first = daemon(store.env(), [...flags, "--queue=default,side"]);
    await first.waitFor(isEvent("probe:started"), 30_000, "the long job's start");
    const second = daemon(store.env(), flags);
    await second.waitFor(isEvent("worker:started"), 30_000, "the second daemon");

    // Well past retry_after and the lease: the stored reservation is fresh, as Laravel reads it.
    await first.waitFor(isEvent("job:failed", "WaitsThenFails"), 30_000, "its final failure");
    const now = Math.floor(Date.now() / 1000);
    const [stamp] = await store.reservationStamps();
    if (kind === "redis") {
      assert.ok(stamp! > now && stamp! <= now + 3, `score ${stamp} is an expiry after ${now}`);
    } else {
      assert.ok(stamp! >= now - 2 && stamp! <= now, `reserved_at ${stamp} is recent (${now})`);
    }

    const done = await first.waitFor(isEvent("job:done", "LongProbe"), 40_000, "the long job");
    assert.ok(done.durationMs as number >= 20_000);
    await stopBoth(first, second);

    assert.deepEqual(attemptsOf("LongProbe", first, second), [1], "the 20 s job was reserved once");
    assert.deepEqual(attemptsOf("WaitsThenFails", first, second), [1, 2]);
    assert.deepEqual(await readLines(long), ["start 1", "end 1"], "the 20 s job ran once");
    assert.deepEqual(await readLines(failing), ["attempt 1", "attempt 2"]);
    assert.deepEqual(ran(second), [], "the watching daemon took nothing");
    assert.equal(first.events.filter(isEvent("job:released", "WaitsThenFails")).length, 1);
    assert.deepEqual(first.events.filter(isEvent("job:reservation-lost")), []);
    const rows = await store.connection.failed.list();
    assert.equal(rows.length, 1, "the fail wrote its failed_jobs row");
    assert.match(rows[0]!.exception, /gave up after 2500 ms/);
    assert.deepEqual(await store.connection.driver.counts("default"), {
      ready: 0,
      delayed: 0,
      reserved: 0,
    });
    assert.deepEqual(await store.connection.driver.counts("side"), {
      ready: 0,
      delayed: 0,
      reserved: 0,
    });
  } finally {
    await store.cleanup();
  }
}

/**
 * An inline job blocks the main thread for 10 s, longer than the 8 s lease,
 * while a second daemon watches: the supervisor Worker kept extending (up to
 * the 7 s liveness limit, then the lease still had seconds to run), so the
 * job runs once and its ack matches.
 */
export async function blockLongerThanLease(kind: StoreKind, spin: boolean): Promise<void> {
  const store = await openLeaseStore(kind);
  try {
    const file = `${store.dir}/blocked.txt`;
    await store.dispatch(BlocksMainThread, { file, ms: 10_000, spin });
    const flags = ["--tries=3", "--lease=8", "--lease-renew=1", "--liveness-limit=7"];
    const first = daemon(store.env(), flags);
    await first.waitFor(isEvent("probe:blocking"), 30_000, "the block's start");
    const second = daemon(store.env(), flags);
    await second.waitFor(isEvent("worker:started"), 30_000, "the second daemon");
    const done = await first.waitFor(isEvent("job:done"), 40_000, "the blocking job");
    assert.ok(done.durationMs as number >= 10_000);
    await stopBoth(first, second);
    assert.deepEqual(attemptsOf("BlocksMainThread", first, second), [1], "reserved once");
    assert.deepEqual(await readLines(file), ["start 1", "end 1"], "it ran once");
    assert.deepEqual(ran(second), [], "the watching daemon took nothing");
    assert.deepEqual(first.events.filter(isEvent("job:reservation-lost")), []);
    // Past the liveness limit extension paused, and the lease outlived the rest of the block.
    const paused = first.events.find(isEvent("lease:paused"));
    assert.ok(paused && (paused.silentMs as number) >= 9_000, "extension paused at the limit");
  } finally {
    await store.cleanup();
  }
}

/** Recovery bound asserted after a kill -9: the lease, plus the stores' whole-second clock and a loaded machine's slack. */
const RECOVERY_SLACK_MS = 2_000;

/**
 * kill -9 of the daemon running a long job (retry_after=60, lease 3 s): the
 * job runs again on the watching daemon within the lease (+ slack), not
 * after retry_after.
 */
export async function killRecovers(kind: StoreKind): Promise<void> {
  const store = await openLeaseStore(kind);
  try {
    const file = `${store.dir}/killed.txt`;
    await store.dispatch(SlowUntilRetried, { file, ms: 30_000 });
    const lease = 3;
    const flags = ["--tries=3", "--retry-after=60", `--lease=${lease}`, "--lease-renew=0.5"];
    const victim = daemon(store.env(), flags);
    await victim.waitFor(isEvent("probe:started"), 30_000, "the long job's start");
    const heir = daemon(store.env(), flags);
    await heir.waitFor(isEvent("worker:started"), 30_000, "the second daemon");
    victim.kill("SIGKILL");
    const killedAt = Date.now();
    assert.equal((await victim.finished()).signal, "SIGKILL");

    const retried = await heir.waitFor(isEvent("job:started"), 30_000, "the take-over");
    const recoveryMs = timeOf(retried) - killedAt;
    assert.equal(retried.job!.attempt, 2);
    assert.ok(
      recoveryMs <= lease * 1000 + RECOVERY_SLACK_MS,
      `taken over ${recoveryMs} ms after the kill: within the ${lease} s lease, not retry_after`,
    );
    await heir.waitFor(isEvent("job:done"), 30_000, "the second attempt");
    await stopBoth(heir);
    assert.deepEqual(await readLines(file), ["start 1", "start 2", "end 2"]);
    assert.deepEqual(await store.connection.driver.counts("default"), {
      ready: 0,
      delayed: 0,
      reserved: 0,
    });
  } finally {
    await store.cleanup();
  }
}

/**
 * A main thread wedged (12 s) past the liveness limit (2 s): the supervisor
 * stops extending, the lease (3 s) lapses and the watching daemon runs the
 * job while the first is still stuck (whose late ack then removes nothing:
 * the queue ends empty through the second daemon's ack).
 */
export async function wedgeLapses(kind: StoreKind): Promise<void> {
  const store = await openLeaseStore(kind);
  try {
    const file = `${store.dir}/wedged.txt`;
    const wedgeMs = 12_000;
    await store.dispatch(BlocksMainThread, { file, ms: wedgeMs });
    const flags = ["--tries=3", "--lease=3", "--lease-renew=0.5", "--liveness-limit=2"];
    const wedged = daemon(store.env(), flags);
    const blocking = await wedged.waitFor(isEvent("probe:blocking"), 30_000, "the wedge");
    const wedgedAt = blocking.at as number;
    const heir = daemon(store.env(), flags);
    const retried = await heir.waitFor(isEvent("job:started"), 30_000, "the take-over");
    const takenAfterMs = timeOf(retried) - wedgedAt;
    assert.equal(retried.job!.attempt, 2);
    assert.ok(
      takenAfterMs < wedgeMs - 2_000,
      `taken over ${takenAfterMs} ms into the ${wedgeMs} ms wedge: while the first was stuck`,
    );
    const said = wedged.stderr.find((line) =>
      /main thread has not answered .* lease extension paused/.test(line)
    );
    assert.ok(said, `the supervisor said so at once:\n${wedged.stderr.join("\n")}`);
    assert.equal(JSON.parse(said).level, "WARN", "a JSON log line, as the daemon runs with --json");
    await wedged.waitFor(isEvent("lease:paused"), 30_000, "the pause, reported once it woke");
    await wedged.waitFor(isEvent("job:done"), 5_000, "the wedged attempt's end");
    await stopBoth(wedged, heir);
    assert.deepEqual((await readLines(file)).sort(), ["end 1", "end 2", "start 1", "start 2"]);
    assert.deepEqual(await store.connection.driver.counts("default"), {
      ready: 0,
      delayed: 0,
      reserved: 0,
    });
  } finally {
    await store.cleanup();
  }
}
