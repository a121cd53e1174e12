/**
 * The SQLite queue against what Laravel's DatabaseQueue does to the `jobs`
 * table (laravel-fixtures/07-database-worker.json), field by field.
 */
import assert from "node:assert/strict";
import { prepareDispatch } from "../src/dispatch.ts";
import { CountProbe } from "./fixtures/jobs/probe_jobs.ts";
import type { ReservedJob } from "../src/drivers/driver.ts";
import type { LostReservation } from "../src/drivers/sqlite/sqlite_queue_options.ts";
import { SqliteQueue } from "../src/drivers/sqlite/sqlite_queue.ts";
import { tempQueue } from "./sqlite_fixtures/helpers.ts";

interface FixtureStep {
  step: string;
  db_after: { jobs: Record<string, unknown>[]; failed_jobs: Record<string, unknown>[] };
}
const DATABASE_WORKER: { steps: FixtureStep[] } = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/laravel/07-database-worker.json", import.meta.url),
  ),
);
const step = (prefix: string) => {
  const found = DATABASE_WORKER.steps.find((each) => each.step.startsWith(prefix));
  assert.ok(found, `fixture step "${prefix}"`);
  return found.db_after;
};
/** A fixture row without the decoded helper fields and without the id (ids depend on history). */
const laravelRow = (row: Record<string, unknown> | undefined) => {
  assert.ok(row);
  const { id: _id, payload__decoded: _decoded, exception__first_line: _line, ...rest } = row;
  return rest;
};
const withoutId = (row: Record<string, unknown> | undefined) => {
  assert.ok(row);
  const { id: _id, ...rest } = row;
  return rest;
};

Deno.test("push writes Laravel's row: attempts 0, not reserved, due now, created now", async () => {
  const t = await tempQueue();
  try {
    const dispatched = step("dispatch SendEmail").jobs[0]!;
    t.clock.at(1796312061, 400);
    const id = await t.queue.push("default", dispatched.payload as string);
    assert.equal(id, "1");
    assert.deepEqual(t.rows(), [{ ...laravelRow(dispatched), id: 1 }]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("pushMany inserts in order in one call and returns the ids", async () => {
  const t = await tempQueue();
  try {
    const ids = await t.queue.pushMany("default", ["a", "b", "c"]);
    assert.deepEqual(ids, ["1", "2", "3"]);
    assert.deepEqual(t.rows().map((row) => row.payload), ["a", "b", "c"]);
    assert.deepEqual(await t.queue.pushMany("default", []), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("delays: none is due this second; a delay rounds up so a job never runs early", async () => {
  const t = await tempQueue();
  try {
    t.clock.at(1000, 999);
    await t.queue.push("default", "now");
    await t.queue.push("default", "1s", { delay: 1 });
    await t.queue.push("default", "0.2s", { delay: 0.2 });
    t.clock.at(2000, 0);
    await t.queue.push("default", "exact", { delay: 5 });
    assert.deepEqual(
      t.rows().map((row) => [row.payload, row.available_at, row.created_at]),
      [["now", 1000, 1000], ["1s", 1002, 1000], ["0.2s", 1002, 1000], ["exact", 2005, 2000]],
    );
    t.clock.at(1001, 999);
    assert.deepEqual((await t.queue.reserve(["default"], 10)).map((job) => job.rawPayload), [
      "now",
    ]);
    t.clock.at(1002);
    assert.deepEqual((await t.queue.reserve(["default"], 10)).map((job) => job.rawPayload), [
      "1s",
      "0.2s",
    ]);
    assert.deepEqual(await t.queue.counts("default"), { ready: 0, delayed: 1, reserved: 3 });
  } finally {
    await t.cleanup();
  }
});

Deno.test("reserve counts the attempt and stamps reserved_at, as Laravel's pop does", async () => {
  const t = await tempQueue();
  try {
    const dispatched = step("dispatch SendEmail").jobs[0]!;
    t.clock.at(1796312061);
    await t.queue.push("default", dispatched.payload as string);
    const [job, ...more] = await t.queue.reserve(["default"], 5);
    assert.deepEqual(more, []);
    assert.deepEqual({ ...job }, {
      id: "1",
      queue: "default",
      rawPayload: dispatched.payload,
      attempts: 1,
      reservedAt: 1796312061,
    });
    // The row as Laravel's job saw it while running (state_while_running).
    assert.deepEqual(t.rows()[0], {
      ...laravelRow(dispatched),
      id: 1,
      attempts: 1,
      reserved_at: 1796312061,
    });
    assert.deepEqual(
      await t.queue.reserve(["default"], 5),
      [],
      "a reserved job is not reserved twice",
    );
    await t.queue.ack(job!);
    assert.deepEqual(t.rows(), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("reserve takes queues in priority order and fills the limit across them", async () => {
  const t = await tempQueue();
  try {
    await t.queue.push("low", "low-1");
    await t.queue.push("high", "high-2");
    await t.queue.push("low", "low-3");
    await t.queue.push("high", "high-4");
    await t.queue.push("other", "other-5");
    const first = await t.queue.reserve(["high", "low"], 3);
    assert.deepEqual(first.map((job) => [job.id, job.rawPayload]), [
      ["2", "high-2"],
      ["4", "high-4"],
      ["1", "low-1"],
    ]);
    const second = await t.queue.reserve(["high", "low"], 3);
    assert.deepEqual(second.map((job) => job.rawPayload), ["low-3"]);
    assert.deepEqual(await t.queue.counts("other"), { ready: 1, delayed: 0, reserved: 0 });
  } finally {
    await t.cleanup();
  }
});

Deno.test("a Laravel life cycle replayed: release twice (new id, attempts kept), then fail", async () => {
  const t = await tempQueue();
  try {
    const dispatched = step("dispatch FlakyJob").jobs[0]!;
    t.clock.at(1796312061);
    await t.queue.push("default", dispatched.payload as string);

    // Whole seconds here: with a fraction, KQueue rounds a delay up where Laravel rounds down.
    t.clock.at(1796312062);
    const [attempt1] = await t.queue.reserve(["default"], 1);
    assert.equal(attempt1!.attempts, 1);
    await t.queue.release(attempt1!, 1);
    const afterFirst = step("queue:work --once: attempt 1 throws").jobs;
    assert.deepEqual(t.rows().map(withoutId), afterFirst.map(laravelRow));
    assert.notEqual(String(t.rows()[0]!.id), attempt1!.id, "a release gives the job a new id");

    t.clock.at(1796312063);
    const [attempt2] = await t.queue.reserve(["default"], 1);
    assert.equal(attempt2!.attempts, 2);
    await t.queue.release(attempt2!, 5);
    assert.deepEqual(
      t.rows().map(withoutId),
      step("queue:work --once: attempt 2 throws").jobs.map(laravelRow),
    );

    t.clock.at(1796312067);
    assert.deepEqual(await t.queue.reserve(["default"], 1), [], "not before its backoff");
    t.clock.at(1796312068, 207);
    const [attempt3] = await t.queue.reserve(["default"], 1);
    assert.equal(attempt3!.attempts, 3);
    const failedRow = step("queue:work --once: attempt 3 throws").failed_jobs[0]!;
    const written = await t.queue.fail(attempt3!, {
      uuid: failedRow.uuid as string,
      exception: failedRow.exception as string,
    });
    assert.equal(written, true);
    assert.deepEqual(t.rows(), []);
    assert.deepEqual(t.rows("failed_jobs"), [{ ...laravelRow(failedRow), id: 1 }]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("retry_after: an abandoned reservation is taken over with attempts counted again", async () => {
  // Fixture 07's "database-short" connection: retry_after = 2, the worker was killed.
  const lost: LostReservation[] = [];
  const t = await tempQueue({ retryAfter: 2, onReservationLost: (event) => lost.push(event) });
  try {
    t.clock.at(1796312068);
    await t.queue.push("default", '{"uuid":"ed8c6af5"}');
    t.clock.at(1796312069);
    const [crashed] = await t.queue.reserve(["default"], 1);
    assert.deepEqual([crashed!.attempts, crashed!.reservedAt], [1, 1796312069]);

    const other = await t.another({ retryAfter: 2, connectionName: "database-short" });
    t.clock.at(1796312070);
    assert.deepEqual(await other.reserve(["default"], 1), [], "still within retry_after");
    t.clock.at(1796312071);
    const [takenOver] = await other.reserve(["default"], 1);
    assert.deepEqual({ ...takenOver }, {
      id: crashed!.id,
      queue: "default",
      rawPayload: '{"uuid":"ed8c6af5"}',
      attempts: 2,
      reservedAt: 1796312071,
    });

    // The first worker's late writes must not touch the new reservation.
    assert.equal(await t.queue.ack(crashed!), false);
    assert.equal(await t.queue.release(crashed!, 0), false);
    assert.equal(await t.queue.requeue(crashed!), false);
    assert.equal(await t.queue.fail(crashed!, { uuid: "ed8c6af5", exception: "late" }), false);
    assert.deepEqual(t.rows().map((row) => [row.id, row.attempts, row.reserved_at]), [
      [1, 2, 1796312071],
    ]);
    assert.deepEqual(t.rows("failed_jobs"), []);
    assert.equal(t.queue.lostReservations, 4);
    assert.deepEqual(lost.map((event) => [event.operation, event.job.id]), [
      ["ack", "1"],
      ["release", "1"],
      ["requeue", "1"],
      ["fail", "1"],
    ]);

    assert.equal(await other.fail(takenOver!, { uuid: "ed8c6af5", exception: "E" }), true);
    assert.deepEqual(t.rows("failed_jobs").map((row) => row.connection), ["database-short"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("requeue restores the row as it was: same id, attempt not counted, FIFO kept", async () => {
  const t = await tempQueue();
  try {
    await t.queue.pushMany("default", ["first", "second"]);
    const before = t.rows();
    const [first] = await t.queue.reserve(["default"], 1);
    await t.queue.requeue(first!);
    assert.deepEqual(t.rows(), before);
    const again = await t.queue.reserve(["default"], 2);
    assert.deepEqual(again.map((job) => [job.id, job.rawPayload, job.attempts]), [
      ["1", "first", 1],
      ["2", "second", 1],
    ]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("requeue after a takeover undoes only the last reservation", async () => {
  const t = await tempQueue({ retryAfter: 10 });
  try {
    t.clock.at(5000);
    await t.queue.push("default", "job");
    await t.queue.reserve(["default"], 1);
    t.clock.at(5010);
    const [second] = await t.queue.reserve(["default"], 1);
    assert.equal(second!.attempts, 2);
    await t.queue.requeue(second!);
    assert.deepEqual(t.rows().map((row) => [row.attempts, row.reserved_at]), [[1, null]]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("fail writes failed_jobs in Laravel's format; a known uuid updates its row", async () => {
  const t = await tempQueue({ connectionName: "database" });
  try {
    await t.queue.pushMany("emails", ['{"uuid":"u-1","n":1}', '{"uuid":"u-1","n":2}']);
    const [one, two] = await t.queue.reserve(["emails"], 2);
    t.clock.at(1796312068, 999);
    assert.equal(await t.queue.fail(one!, { uuid: "u-1", exception: "First: boom" }), true);
    assert.deepEqual(t.rows("failed_jobs"), [{
      id: 1,
      uuid: "u-1",
      connection: "database",
      queue: "emails",
      payload: '{"uuid":"u-1","n":1}',
      exception: "First: boom",
      failed_at: "2026-12-03 15:34:28",
    }]);
    t.clock.at(1796312100);
    await t.queue.fail(two!, { uuid: "u-1", exception: "Second: boom", payload: "recorded" });
    assert.deepEqual(t.rows("failed_jobs"), [{
      id: 1,
      uuid: "u-1",
      connection: "database",
      queue: "emails",
      payload: "recorded",
      exception: "Second: boom",
      failed_at: "2026-12-03 15:35:00",
    }]);
    assert.deepEqual(t.rows(), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("acks are batched: one delete at the next reserve, each promise after the commit", async () => {
  const t = await tempQueue({ ackFlushDelayMs: 60_000 });
  try {
    await t.queue.pushMany("default", ["a", "b", "c", "d"]);
    const jobs = await t.queue.reserve(["default"], 3);
    let acked = 0;
    const acks = jobs.map((job) => t.queue.ack(job).then(() => acked++));
    await Promise.resolve();
    assert.equal(acked, 0);
    assert.equal(t.rows().length, 4, "nothing deleted before a flush");
    const next = await t.queue.reserve(["default"], 3);
    await Promise.all(acks);
    assert.equal(acked, 3);
    assert.deepEqual(t.rows().map((row) => row.payload), ["d"]);
    assert.deepEqual(next.map((job) => job.rawPayload), ["d"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("an ack on its own is flushed by a short timer", async () => {
  const t = await tempQueue();
  try {
    await t.queue.push("default", "a");
    const [job] = await t.queue.reserve(["default"], 1);
    await t.queue.ack(job!);
    assert.deepEqual(t.rows(), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("close flushes pending acks and refuses later calls", async () => {
  const t = await tempQueue({ ackFlushDelayMs: 60_000 });
  try {
    await t.queue.push("default", "a");
    const [job] = await t.queue.reserve(["default"], 1);
    const acked = t.queue.ack(job!);
    await t.queue.close();
    await acked;
    assert.deepEqual(t.rows(), []);
    await assert.rejects(t.queue.push("default", "b"), /Cannot push jobs as the queue is closed/);
    await t.queue.close();
  } finally {
    await t.cleanup();
  }
});

Deno.test("counts splits a queue into ready, delayed and reserved", async () => {
  const t = await tempQueue();
  try {
    t.clock.at(100);
    await t.queue.pushMany("default", ["a", "b", "c"]);
    await t.queue.push("default", "later", { delay: 30 });
    await t.queue.reserve(["default"], 1);
    assert.deepEqual(await t.queue.counts("default"), { ready: 2, delayed: 1, reserved: 1 });
    assert.deepEqual(await t.queue.counts("empty"), { ready: 0, delayed: 0, reserved: 0 });
  } finally {
    await t.cleanup();
  }
});

Deno.test("options and arguments are checked up front, in one voice", async () => {
  await assert.rejects(
    SqliteQueue.open({ path: "/nonexistent/never-created.sqlite", retryAfter: 0 }),
    new RangeError(
      "Cannot open queue as 'retryAfter' must be a positive number: current value is 0",
    ),
  );
  await assert.rejects(
    SqliteQueue.open({ path: "/nonexistent/x.sqlite", table: 'jobs"; DROP TABLE x; --' }),
    RangeError,
  );
  await assert.rejects(
    SqliteQueue.open({ path: "/nonexistent/x.sqlite", pollIntervalMs: "50" as unknown as number }),
    new TypeError(`Cannot open queue as 'pollIntervalMs' must be a number: current value is "50"`),
  );
  const t = await tempQueue();
  try {
    await assert.rejects(
      t.queue.reserve(["default"], 0),
      new RangeError(
        "Cannot reserve jobs as 'limit' must be a positive integer: current value is 0",
      ),
    );
    await assert.rejects(t.queue.reserve([], 1), RangeError);
    await assert.rejects(
      t.queue.push("default", "x", { delay: -1 }),
      new RangeError(
        "Cannot push jobs as 'delay' must be a non-negative number: current value is -1",
      ),
    );
    // Laravel's available_at is an unsigned 32-bit integer: a job due after 2106 is refused.
    const most = Math.floor(4294967295 - t.clock.nowMs / 1000);
    await assert.rejects(
      t.queue.pushMany("default", ["x"], { delay: most + 1 }),
      new RangeError(
        `Cannot push jobs: a delay of ${most + 1} seconds is too long: it puts the job past unix ` +
          `time 4294967295 (2106-02-07 06:28:15 UTC), the latest available_at Laravel's jobs ` +
          `table holds: use at most ${most} seconds`,
      ),
    );
    assert.deepEqual(t.rows(), []);
    await t.queue.push("default", "x", { delay: most });
    assert.equal(t.rows()[0]!.available_at, 4294967295);
    // So are a release and a requeue that would put a reserved job past it; the row stays reserved.
    await t.queue.push("default", "y");
    const [reserved] = await t.queue.reserve(["default"], 1);
    for (const settle of [t.queue.release, t.queue.requeue]) {
      await assert.rejects(
        settle.call(t.queue, reserved!, most + 1),
        (error: Error) =>
          error instanceof RangeError &&
          /^Cannot (release|requeue) a job: a delay of \d+ seconds is too long: it puts the job past unix time 4294967295 /
            .test(error.message),
      );
    }
    assert.equal(await t.queue.release(reserved!, most), true);
    const releasedRow = t.rows().find((row) => row.payload === "y")!;
    assert.deepEqual([releasedRow.available_at, releasedRow.attempts], [4294967295, 1]);
    // dispatch refuses it before building anything (on the real clock).
    assert.throws(
      () => prepareDispatch(CountProbe, {}, { delay: 1e20 }),
      (error: Error) =>
        error instanceof RangeError &&
        /^Cannot dispatch CountProbe: a delay of 100000000000000000000 seconds is too long: it puts the job past unix time 4294967295 \(2106-02-07 06:28:15 UTC\).*: use at most \d+ seconds$/
          .test(error.message),
    );
    const forged = { id: "1; DROP", queue: "q", rawPayload: "", attempts: 1, reservedAt: 1 };
    await assert.rejects(t.queue.ack(forged as ReservedJob), TypeError);
  } finally {
    await t.cleanup();
  }
});
