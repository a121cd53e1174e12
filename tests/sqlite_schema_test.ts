/**
 * Opening a queue database: Laravel's exact DDL in a file KQueue creates,
 * and never a table added to an existing (Laravel app's) database.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openSqliteDatabase } from "../src/drivers/sqlite/schema.ts";
import { SqliteQueue } from "../src/drivers/sqlite/sqlite_queue.ts";

const SCHEMA = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/laravel/01-schema.json", import.meta.url)),
);
const FIX = "run php artisan queue:table && php artisan migrate, or deno task kqueue create-tables";

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-schema-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function schemaOf(path: string): Map<string, string> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").all();
    return new Map(rows.map((row) => [String(row.name), String(row.sql)]));
  } finally {
    db.close();
  }
}

function tableNames(path: string): string[] {
  return [...schemaOf(path).keys()].filter((name) => name !== "sqlite_sequence").sort();
}

/** A database as a Laravel app may have it: some tables of its own, maybe some of ours. */
function laravelDatabase(path: string, statements: string[]): void {
  const db = new DatabaseSync(path);
  db.exec(`CREATE TABLE "users" ("id" integer not null primary key autoincrement)`);
  for (const statement of statements) db.exec(statement);
  db.close();
}

Deno.test("a missing file is created with its folder and Laravel's exact tables, in WAL mode", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/nested/folder/database.sqlite`;
    const connection = await openSqliteDatabase(path);
    try {
      assert.equal(connection.created, true);
      assert.equal(connection.hasCacheTable, true);
      assert.equal(connection.db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      assert.equal(connection.db.prepare("PRAGMA busy_timeout").get()?.timeout, 0);
      assert.equal(connection.db.prepare("PRAGMA synchronous").get()?.synchronous, 1); // NORMAL
    } finally {
      connection.close();
    }
    const schema = schemaOf(path);
    assert.deepEqual(
      [schema.get("jobs"), schema.get("jobs_queue_index")],
      SCHEMA.tables.jobs.sqlite,
    );
    assert.deepEqual(
      [schema.get("failed_jobs"), schema.get("failed_jobs_uuid_unique")],
      SCHEMA.tables.failed_jobs.sqlite,
    );
    assert.equal(
      schema.get("cache"),
      `CREATE TABLE "cache" ("key" varchar not null, "value" text not null, "expiration" integer not null, primary key ("key"))`,
    );
    const left = await Array.fromAsync(Deno.readDir(`${dir}/nested/folder`), (entry) => entry.name);
    assert.deepEqual(left.filter((name) => name.includes(".creating-")), [], "no build file left");
  });
});

Deno.test("an existing database without the queue tables is refused, and left untouched", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/database.sqlite`;
    laravelDatabase(path, []);
    await assert.rejects(
      SqliteQueue.open({ path }),
      new Error(
        `Cannot open queue database '${path}' as it has no 'jobs' or 'failed_jobs' table: ` +
          "run php artisan queue:table && php artisan queue:failed-table && php artisan migrate, " +
          "or deno task kqueue create-tables",
      ),
    );
    assert.deepEqual(tableNames(path), ["users"], "no table was created");
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "delete", "nor WAL set");
    db.close();
  });
});

Deno.test("an empty existing file (Laravel's touched database.sqlite) is not filled in either", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/database.sqlite`;
    await Deno.writeFile(path, new Uint8Array());
    await assert.rejects(SqliteQueue.open({ path }), (error: Error) => {
      assert.match(error.message, /has no 'jobs' or 'failed_jobs' table/);
      assert.equal(error.message.split("\n").length, 1);
      return true;
    });
    assert.equal((await Deno.stat(path)).size, 0, "the file was not written to");
  });
});

Deno.test("a database with only failed_jobs names the one missing table and its fix", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/database.sqlite`;
    laravelDatabase(path, SCHEMA.tables.failed_jobs.sqlite);
    await assert.rejects(
      SqliteQueue.open({ path }),
      new Error(`Cannot open queue database '${path}' as it has no 'jobs' table: ${FIX}`),
    );
  });
});

Deno.test("a migrated Laravel database opens; a missing cache table is reported, not fatal", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/database.sqlite`;
    laravelDatabase(path, [...SCHEMA.tables.jobs.sqlite, ...SCHEMA.tables.failed_jobs.sqlite]);
    const connection = await openSqliteDatabase(path);
    try {
      assert.equal(connection.created, false);
      assert.equal(connection.hasCacheTable, false);
    } finally {
      connection.close();
    }
    assert.deepEqual(tableNames(path), [
      "failed_jobs",
      "failed_jobs_uuid_unique",
      "jobs",
      "jobs_queue_index",
      "users",
    ]);
  });
});

Deno.test("create: true (the explicit command) adds only the missing tables to an existing file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/database.sqlite`;
    laravelDatabase(path, SCHEMA.tables.jobs.sqlite);
    const connection = await openSqliteDatabase(path, { create: true });
    connection.close();
    assert.deepEqual(tableNames(path), [
      "cache",
      "cache_locks",
      "failed_jobs",
      "failed_jobs_uuid_unique",
      "jobs",
      "jobs_queue_index",
      "users",
    ]);
    const queue = await SqliteQueue.open({ path, createTables: true });
    await queue.close();
  });
});

Deno.test("a table without Laravel's columns is refused with the table and columns named", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/database.sqlite`;
    laravelDatabase(path, [
      `CREATE TABLE "jobs" ("id" integer primary key, "queue" varchar, "payload" text)`,
      ...SCHEMA.tables.failed_jobs.sqlite,
    ]);
    await assert.rejects(
      SqliteQueue.open({ path }),
      /as table 'jobs' lacks column\(s\) attempts, reserved_at, available_at, created_at:/,
    );
  });
});

Deno.test("a file that is not SQLite, or a folder, gives one line naming the path and what to do", async () => {
  await withTempDir(async (dir) => {
    const text = `${dir}/notes.txt`;
    await Deno.writeTextFile(text, "this is not a database, just some text\n".repeat(50));
    await assert.rejects(SqliteQueue.open({ path: text }), (error: Error) => {
      assert.equal(
        error.message,
        `Cannot open queue database '${text}' as it is not a SQLite database ` +
          "(file is not a database): point the queue at a SQLite file, or move this file away " +
          "to let KQueue create a new one",
      );
      return true;
    });
    await assert.rejects(SqliteQueue.open({ path: dir }), (error: Error) => {
      assert.match(error.message, new RegExp(`^Cannot open queue database '${dir}' as .+: .+`));
      assert.equal(error.message.split("\n").length, 1);
      return true;
    });
  });
});

Deno.test("two openers racing to create the same file both succeed on one complete database", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/database.sqlite`;
    const [a, b] = await Promise.all([openSqliteDatabase(path), openSqliteDatabase(path)]);
    try {
      assert.deepEqual([a.created, b.created].sort(), [false, true]);
      assert.equal(b.hasCacheTable && a.hasCacheTable, true);
    } finally {
      a.close();
      b.close();
    }
  });
});
