/**
 * A locked SQLite file: operations retry asynchronously, so the event loop
 * keeps turning, and finish once the other process lets go. Several
 * processes reserving from one file: every job exactly once.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  isBusyError,
  retryWhileBusy,
  runImmediateTransaction,
  SqliteBusyError,
} from "../src/drivers/sqlite/busy.ts";
import { SqliteQueue } from "../src/drivers/sqlite/sqlite_queue.ts";
import {
  EventLoopProbe,
  FixtureProcess,
  settledFlag,
  tempQueue,
} from "./sqlite_fixtures/helpers.ts";

Deno.test("while another process holds the write lock, reserve/ack/push wait without freezing the loop", async () => {
  const t = await tempQueue();
  const probe = new EventLoopProbe(20);
  try {
    await t.queue.pushMany("default", ["a", "b", "c"]);
    const [toAck] = await t.queue.reserve(["default"], 1);

    const holder = new FixtureProcess("lock_holder.ts", [t.path]);
    assert.equal(await holder.nextLine(), "locked");
    const busyBefore = t.queue.connection.busyRetries;
    const maxGapBefore = probe.maxGapMs;

    const reserved = t.queue.reserve(["default"], 5);
    const acked = t.queue.ack(toAck!);
    const pushed = t.queue.push("default", "d");
    const flags = [reserved, acked, pushed].map(settledFlag);

    await probe.ranFor(1_500); // ticks arrive: the loop is alive while the file is locked
    assert.deepEqual(flags.map((flag) => flag.settled), [false, false, false], "still waiting");
    assert.ok(t.queue.connection.busyRetries > busyBefore, "the busy error was retried");

    await holder.send("commit");
    const [jobs] = await Promise.all([reserved, acked, pushed]);
    assert.equal(await holder.nextLine(), "committed");
    assert.equal((await holder.finished()).code, 0);

    // The push may or may not win the lock before the reserve: "d" is optional.
    const got = jobs.map((job) => job.rawPayload).sort().join();
    assert.ok(got === "b,c" || got === "b,c,d", `reserved ${got}`);
    assert.ok(!t.rows().some((row) => row.payload === "a"), "the ack was committed");
    assert.ok(t.rows().some((row) => row.payload === "d"), "the push was committed");
    probe.stop();
    assert.ok(
      Math.max(probe.maxGapMs, maxGapBefore) < 200,
      `largest gap between 20 ms ticks: ${probe.maxGapMs.toFixed(0)} ms`,
    );
  } finally {
    probe.stop();
    await t.cleanup();
  }
});

Deno.test("a lock held past busyDeadlineMs fails the operation with the file named", async () => {
  const t = await tempQueue({ busyDeadlineMs: 250 });
  const probe = new EventLoopProbe(20);
  try {
    const holder = new FixtureProcess("lock_holder.ts", [t.path]);
    assert.equal(await holder.nextLine(), "locked");
    await assert.rejects(t.queue.push("default", "x"), (error: Error) => {
      assert.ok(error instanceof SqliteBusyError);
      assert.match(
        error.message,
        new RegExp(
          `^Cannot push jobs as SQLite file '${t.path}' stayed locked by another connection for \\d+ ms \\(busyDeadlineMs is 250\\)`,
        ),
      );
      return true;
    });
    assert.ok(probe.maxGapMs < 200, `largest gap ${probe.maxGapMs.toFixed(0)} ms`);
    await holder.send("commit");
    assert.equal(await holder.nextLine(), "committed");
    await holder.finished();
    assert.equal(await t.queue.push("default", "x"), "1", "works again once the lock is gone");
  } finally {
    probe.stop();
    await t.cleanup();
  }
});

Deno.test("a failing transaction body is rolled back and leaves no transaction open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-busy-" });
  const db = new DatabaseSync(`${dir}/x.sqlite`, { timeout: 0 });
  try {
    db.exec("CREATE TABLE t (n integer)");
    assert.throws(
      () =>
        runImmediateTransaction(db, () => {
          db.exec("INSERT INTO t VALUES (1)");
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(db.isTransaction, false);
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get()?.n, 0);

    let calls = 0;
    const busy = Object.assign(new Error("database is locked"), { code: "ERR_SQLITE_ERROR" });
    assert.equal(isBusyError(busy), true);
    assert.equal(isBusyError(new Error("database is locked")), false, "not node:sqlite's");
    const result = await retryWhileBusy(() => {
      if (++calls < 4) throw busy;
      return "done";
    }, { path: "x", action: "test", deadlineMs: 5_000 });
    assert.deepEqual([result, calls], ["done", 4]);
    await assert.rejects(
      retryWhileBusy(() => {
        throw new Error("other");
      }, { path: "x", action: "test", deadlineMs: 5_000 }),
      /other/,
    );
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes reserving from one file: each of 2,000 jobs reserved exactly once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-claim-" });
  const path = `${dir}/database.sqlite`;
  try {
    const producer = await SqliteQueue.open({ path });
    const payloads = Array.from({ length: 2_000 }, (_, n) => `job-${n}`);
    await producer.pushMany("default", payloads);
    await producer.close();

    const claimers = [
      new FixtureProcess("claimer.ts", [path, "10"]),
      new FixtureProcess("claimer.ts", [path, "7"]),
    ];
    for (const claimer of claimers) assert.equal(await claimer.nextLine(), "ready");
    await Promise.all(claimers.map((claimer) => claimer.send("go")));
    const claimed = await Promise.all(
      claimers.map(async (claimer) => JSON.parse(await claimer.nextLine()) as string[]),
    );
    for (const claimer of claimers) {
      assert.equal((await claimer.finished()).code, 0, await claimer.stderr);
    }

    const all = claimed.flat();
    assert.equal(new Set(all).size, all.length, "no job reserved twice");
    assert.deepEqual([...all].sort(), [...payloads].sort(), "every job reserved");
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(db.prepare("SELECT count(*) AS n FROM jobs").get()?.n, 0, "every ack committed");
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
