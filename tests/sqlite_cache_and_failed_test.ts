/**
 * The failed-job store over failed_jobs, and maxExceptions counters in
 * Laravel's database cache layout (Illuminate\Cache\DatabaseStore).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openSqliteDatabase } from "../src/drivers/sqlite/schema.ts";
import {
  phpIntegerValue,
  SqliteExceptionCounter,
} from "../src/drivers/sqlite/sqlite_exception_counter.ts";
import { SqliteFailedJobStore } from "../src/drivers/sqlite/sqlite_failed_store.ts";
import { FakeClock, tempQueue } from "./sqlite_fixtures/helpers.ts";

const SCHEMA = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/laravel/01-schema.json", import.meta.url)),
);
const KEY = "laravel_cache_job-exceptions:9a1b";

Deno.test("failed store: list newest first, find by uuid, forget", async () => {
  const t = await tempQueue();
  try {
    await t.queue.pushMany("default", ["p1", "p2"]);
    const [one, two] = await t.queue.reserve(["default"], 2);
    t.clock.at(1796312068);
    await t.queue.fail(one!, { uuid: "u-1", exception: "E1" });
    await t.queue.fail(two!, { uuid: "u-2", exception: "E2" });
    const store = new SqliteFailedJobStore(t.queue.connection);
    assert.deepEqual((await store.list()).map((row) => row.uuid), ["u-2", "u-1"]);
    assert.deepEqual(await store.find("u-1"), {
      id: 1,
      uuid: "u-1",
      connection: "database",
      queue: "default",
      payload: "p1",
      exception: "E1",
      failedAt: "2026-12-03 15:34:28",
    });
    assert.equal(await store.find("missing"), undefined);
    assert.equal(await store.forget("u-1"), true);
    assert.equal(await store.forget("u-1"), false);
    assert.deepEqual((await store.list()).map((row) => row.uuid), ["u-2"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("exception counter: `i:N;` under the prefixed key, one day from the first exception", async () => {
  const t = await tempQueue();
  try {
    const clock = new FakeClock(0).at(1796312000, 500);
    const counter = new SqliteExceptionCounter(t.queue.connection, { clock: clock.now });
    assert.equal(await counter.available(), true);
    assert.equal(await counter.increment("9a1b"), 1);
    assert.deepEqual(t.rows("cache"), [{ key: KEY, value: "i:1;", expiration: 1796398400 }]);
    clock.at(1796312500);
    assert.equal(await counter.increment("9a1b"), 2);
    assert.equal(await counter.increment("9a1b"), 3);
    // Laravel's increment keeps the expiration of the first put.
    assert.deepEqual(t.rows("cache"), [{ key: KEY, value: "i:3;", expiration: 1796398400 }]);
    await counter.reset("9a1b");
    assert.deepEqual(t.rows("cache"), []);
    assert.equal(await counter.increment("9a1b"), 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("exception counter: an expired or zero counter starts again at 1 with a new day", async () => {
  const t = await tempQueue();
  try {
    const clock = new FakeClock(0).at(2_000_000_000);
    const counter = new SqliteExceptionCounter(t.queue.connection, {
      clock: clock.now,
      prefix: "shop_cache_",
    });
    const db = t.queue.connection.db;
    const insert = db.prepare(`INSERT INTO cache (key, value, expiration) VALUES (?, ?, ?)`);
    insert.run("shop_cache_job-exceptions:old", "i:7;", 2_000_000_000); // expires now
    insert.run("shop_cache_job-exceptions:zero", "i:0;", 2_000_000_100);
    insert.run("shop_cache_job-exceptions:text", 's:1:"4";', 2_000_000_100);
    assert.equal(await counter.increment("old"), 1);
    assert.equal(await counter.increment("zero"), 1);
    assert.equal(await counter.increment("text"), 5);
    assert.deepEqual(t.rows("cache").map((row) => [row.key, row.value, row.expiration]).sort(), [
      ["shop_cache_job-exceptions:old", "i:1;", 2_000_086_400],
      ["shop_cache_job-exceptions:text", "i:5;", 2_000_000_100],
      ["shop_cache_job-exceptions:zero", "i:1;", 2_000_086_400],
    ]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("exception counter: a database without the cache table says so and how to fix it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-cache-" });
  try {
    const path = `${dir}/database.sqlite`;
    const db = new DatabaseSync(path);
    for (const ddl of [...SCHEMA.tables.jobs.sqlite, ...SCHEMA.tables.failed_jobs.sqlite]) {
      db.exec(ddl);
    }
    db.close();
    const connection = await openSqliteDatabase(path);
    try {
      assert.equal(connection.hasCacheTable, false);
      const counter = new SqliteExceptionCounter(connection);
      assert.equal(await counter.available(), false);
      await assert.rejects(
        counter.increment("u"),
        new Error(
          `Cannot count a job exception as '${path}' has no 'cache' table: run php artisan ` +
            "cache:table (Laravel 11: make:cache-table) && php artisan migrate, or deno task " +
            "kqueue create-tables",
        ),
      );
    } finally {
      connection.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("phpIntegerValue reads what PHP's (int) makes of a serialized number", () => {
  assert.equal(phpIntegerValue("i:12;"), 12);
  assert.equal(phpIntegerValue("i:-3;"), -3);
  assert.equal(phpIntegerValue("d:2.9;"), 2);
  assert.equal(phpIntegerValue('s:2:"10";'), 10);
  assert.equal(phpIntegerValue("b:1;"), undefined);
  assert.equal(phpIntegerValue("N;"), undefined);
  assert.equal(phpIntegerValue("i:1;junk"), undefined);
});
