/**
 * Rows of `jobs` whose available_at or reserved_at no claim can compare as a
 * time (NULL, text, a blob, a number past any usable time) are handed out
 * marked invalid, naming the column and the value, instead of sitting in the
 * table forever; good rows are claimed exactly as before, and the sweep that
 * finds the bad ones runs rarely, one bounded window at a time.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { ReservedJob } from "../src/drivers/driver.ts";
import { failedJobsTableDdl, jobsTableDdl } from "../src/drivers/sqlite/schema.ts";
import { SqliteQueue } from "../src/drivers/sqlite/sqlite_queue.ts";
import { FakeClock } from "./sqlite_fixtures/helpers.ts";

const NOW = 1_796_312_061;

interface Table {
  readonly queue: SqliteQueue;
  readonly clock: FakeClock;
  /** Inserts a row (times as SQL literals); returns its id. */
  insert(availableAt: string, reservedAt?: string, queue?: string): number;
  exec(sql: string): void;
  rows(): Record<string, unknown>[];
  cleanup(): Promise<void>;
}

/**
 * A database with Laravel's tables, except that `jobs.available_at` may be
 * NULL (an older or hand-made table: Laravel's stub says NOT NULL).
 */
async function tableWithNullableTimes(): Promise<Table> {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-unclaimable-" });
  const path = `${dir}/database.sqlite`;
  const raw = new DatabaseSync(path);
  const ddl = jobsTableDdl("jobs").map((s) =>
    s.replace('"available_at" integer not null', '"available_at" integer')
  );
  for (const statement of [...ddl, ...failedJobsTableDdl("failed_jobs")]) raw.exec(statement);
  const clock = new FakeClock(NOW * 1000);
  const queue = await SqliteQueue.open({ path, clock: clock.now, retryAfter: 90 });
  const insert = raw.prepare(
    `INSERT INTO jobs (queue, payload, attempts, reserved_at, available_at, created_at)
     VALUES (:queue, :payload, 0, NULL, 0, ${NOW}) RETURNING id`,
  );
  return {
    queue,
    clock,
    insert: (availableAt, reservedAt = "NULL", name = "default") => {
      const payload = JSON.stringify({ uuid: crypto.randomUUID(), job: "x", data: {} });
      const id = Number(insert.get({ queue: name, payload })!.id);
      raw.exec(
        `UPDATE jobs SET available_at = ${availableAt}, reserved_at = ${reservedAt} WHERE id = ${id}`,
      );
      return id;
    },
    exec: (sql) => raw.exec(sql),
    rows: () =>
      raw.prepare(
        "SELECT id, quote(available_at) AS available_at, reserved_at, attempts FROM jobs ORDER BY id",
      ).all().map((row) => ({ ...row })),
    cleanup: async () => {
      await queue.close();
      raw.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const reason = (id: number, column: string, shown: string, past = false) =>
  `Row ${id} of jobs has ${column} ${shown}, ${
    past ? "past any usable unix time" : "not a unix time in seconds"
  }, so no worker would ever take it: retry it to push it again with a valid time`;

const summary = (jobs: ReservedJob[]) =>
  jobs.map((j) => ({ id: Number(j.id), attempts: j.attempts, invalid: j.invalid }));

Deno.test("unclaimable rows: handed out marked invalid with the column and value; good rows claimed as Laravel claims them", async () => {
  const t = await tableWithNullableTimes();
  try {
    const due = t.insert(`${NOW - 5}`);
    const nullTime = t.insert("NULL");
    const text = t.insert("'abc'");
    const floatPast = t.insert(`${NOW - 0.5}`);
    const huge = t.insert("1e20");
    const tooBig = t.insert("9223372036854775807");
    const blob = t.insert("x'00ff'");
    const delayed = t.insert(`${NOW + 100}`);
    const farFuture = t.insert("99999999999");
    const reservedNow = t.insert(`${NOW}`, `${NOW - 10}`);
    const expired = t.insert(`${NOW}`, `${NOW - 200}`);
    const reservedText = t.insert(`${NOW}`, "'soon'");
    const reservedHuge = t.insert(`${NOW}`, "1e300");
    const longText = t.insert(`'${"x".repeat(100)}'`);

    const jobs = await t.queue.reserve(["default"], 100);
    assert.deepEqual(summary(jobs), [
      { id: nullTime, attempts: 1, invalid: reason(nullTime, "available_at", "NULL") },
      { id: text, attempts: 1, invalid: reason(text, "available_at", "'abc'") },
      { id: huge, attempts: 1, invalid: reason(huge, "available_at", "1.0e+20", true) },
      {
        id: tooBig,
        attempts: 1,
        invalid: reason(tooBig, "available_at", "9223372036854775807", true),
      },
      { id: blob, attempts: 1, invalid: reason(blob, "available_at", "X'00FF'") },
      { id: reservedText, attempts: 1, invalid: reason(reservedText, "reserved_at", "'soon'") },
      {
        id: reservedHuge,
        attempts: 1,
        invalid: reason(reservedHuge, "reserved_at", "1.0e+300", true),
      },
      {
        id: longText,
        attempts: 1,
        invalid: reason(longText, "available_at", `'${"x".repeat(40)}'…`),
      },
      // Then the claim of good rows, unchanged: due, a float time in the past, an expired lease.
      { id: due, attempts: 1, invalid: undefined },
      { id: floatPast, attempts: 1, invalid: undefined },
      { id: expired, attempts: 1, invalid: undefined },
    ]);
    for (const job of jobs) assert.equal(job.reservedAt, NOW);

    // Failing them goes through the usual guarded delete: nothing else is touched.
    for (const job of jobs.filter((j) => j.invalid !== undefined)) {
      assert.equal(
        await t.queue.fail(job, { uuid: crypto.randomUUID(), exception: job.invalid! }),
        true,
      );
    }
    const left = t.rows().map((row) => row.id);
    assert.deepEqual(left, [due, floatPast, delayed, farFuture, reservedNow, expired]);
    assert.deepEqual(await t.queue.reserve(["default"], 100), [], "nothing more to take");
  } finally {
    await t.cleanup();
  }
});

Deno.test("unclaimable rows: the sweep runs at most once a second, one window of rows at a time, resuming after the last", async () => {
  const t = await tableWithNullableTimes();
  try {
    // 2,500 rows due in a year: the third 1,000-row window reaches the bad row at the end.
    t.exec(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
       INSERT INTO jobs (queue, payload, attempts, available_at, created_at)
       SELECT 'default', '{}', 0, ${NOW + 31_536_000}, ${NOW} FROM n`,
    );
    const bad = t.insert("'never'");
    assert.deepEqual(await t.queue.reserve(["default"], 10), [], "first window: rows 1-1000");
    t.clock.at(NOW, 999);
    assert.deepEqual(await t.queue.reserve(["default"], 10), [], "no sweep within the second");
    t.clock.at(NOW + 1);
    assert.deepEqual(await t.queue.reserve(["default"], 10), [], "second window: rows 1001-2000");
    t.clock.at(NOW + 2);
    assert.deepEqual(summary(await t.queue.reserve(["default"], 10)).map((j) => j.id), [bad]);

    // A row that goes bad later is found once the sweep has started over from the first row.
    t.exec("UPDATE jobs SET available_at = 'soon' WHERE id IN (1, 2, 3)");
    t.clock.at(NOW + 3);
    const [one, two] = await t.queue.reserve(["default"], 2);
    assert.deepEqual([one!.id, two!.id], ["1", "2"], "as many as there is room for");
    assert.deepEqual(
      summary(await t.queue.reserve(["default"], 2)).map((j) => j.id),
      [3],
      "the rest at the next reserve, without waiting a second",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("unclaimable rows: a time too large to read as a number no longer breaks waiting or counting", async () => {
  const t = await tableWithNullableTimes();
  try {
    t.insert("9223372036854775807", "NULL", "low");
    t.insert("9223372036854775806", "9223372036854775807", "low");
    await t.queue.waitForJobs(["low"], 10);
    assert.deepEqual(await t.queue.counts("low"), { ready: 0, delayed: 1, reserved: 1 });
    const jobs = await t.queue.reserve(["default", "low"], 10);
    assert.deepEqual(jobs.map((j) => [j.queue, j.invalid !== undefined]), [
      ["low", true],
      ["low", true],
    ]);
  } finally {
    await t.cleanup();
  }
});
