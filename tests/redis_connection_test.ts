/** The `redis` connection from Laravel's variables: endpoints, prefixes, failed jobs, maxExceptions counters. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { readQueueConfig } from "../src/config/env.ts";
import { openConnection } from "../src/connection.ts";
import { endpointsFromConfig, parseRedisUrl } from "../src/drivers/redis/redis_endpoint.ts";
import { randomJobId, withRedisKeys } from "../src/drivers/redis/redis_payload.ts";
import { buildPayloadText } from "../src/payload/laravel_payload.ts";
import { RedisQueue } from "../src/drivers/redis/redis_queue.ts";
import {
  failedJobsTableDdl,
  jobsTableDdl,
  openSqliteDatabase,
} from "../src/drivers/sqlite/schema.ts";
import { SqliteFailedJobStore } from "../src/drivers/sqlite/sqlite_failed_store.ts";
import { commands, fixtureSteps, RedisServer, step } from "./redis_fixtures/helpers.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("redis config: Laravel 11's variables and defaults", () => {
  const defaults = readQueueConfig(envOf({}), "/app");
  assert.deepEqual(defaults.redis, {
    url: undefined,
    host: "127.0.0.1",
    port: 6379,
    username: undefined,
    password: undefined,
    database: 0,
    cacheDatabase: 1,
    prefix: "laravel_database_",
    queue: "default",
    retryAfter: 90,
  });
  assert.equal(defaults.cacheStore, "database");
  const custom = readQueueConfig(
    envOf({
      APP_NAME: "My Shop",
      REDIS_PASSWORD: "null",
      REDIS_USERNAME: "(null)",
      REDIS_DB: "3",
      REDIS_QUEUE: "emails",
      REDIS_QUEUE_RETRY_AFTER: "120",
      CACHE_DRIVER: "redis",
    }),
    "/app",
  );
  assert.equal(custom.redis.prefix, "my_shop_database_");
  assert.equal(custom.redis.password, undefined, "Laravel's env() reads null as unset");
  assert.equal(custom.redis.username, undefined);
  assert.equal(custom.redis.database, 3);
  assert.equal(custom.redis.queue, "emails");
  assert.equal(custom.redis.retryAfter, 120);
  assert.equal(custom.cacheStore, "redis", "CACHE_DRIVER (Laravel ≤ 10) is read too");
  assert.equal(readQueueConfig(envOf({ REDIS_PREFIX: "" }), "/app").redis.prefix, "");
  assert.throws(
    () => readQueueConfig(envOf({ REDIS_PORT: "63 79" }), "/app"),
    /REDIS_PORT="63 79" is not valid/,
  );
});

Deno.test("redis config: REDIS_URL wins, rediss:// is TLS, its database applies to the cache too", () => {
  const config = readQueueConfig(
    envOf({ REDIS_URL: "rediss://queue:p%40ss@cache.example:6380/4", REDIS_HOST: "ignored" }),
    "/app",
  );
  const { queue, cache } = endpointsFromConfig(config.redis);
  assert.deepEqual(queue, {
    host: "cache.example",
    port: 6380,
    username: "queue",
    password: "p@ss",
    tls: true,
    source: "REDIS_URL",
    db: 4,
  });
  assert.equal(cache.db, 4);
  const plain = endpointsFromConfig(
    readQueueConfig(envOf({ REDIS_URL: "redis://:secret@10.0.0.5" }), "/app").redis,
  );
  assert.deepEqual([
    plain.queue.host,
    plain.queue.port,
    plain.queue.password,
    plain.queue.db,
    plain.cache.db,
  ], [
    "10.0.0.5",
    6379,
    "secret",
    0,
    1,
  ]);
  assert.equal(plain.queue.username, undefined);
  assert.throws(() => parseRedisUrl("http://x"), /must start with redis:\/\/ or rediss:\/\//);
  assert.throws(() => parseRedisUrl("redis://x/abc"), /database "abc"/);
});

Deno.test("redis payloads: id and attempts as Laravel's createPayloadArray adds them", () => {
  for (let i = 0; i < 50; i++) assert.match(randomJobId(), /^[A-Za-z0-9]{32}$/);
  const { text, id } = withRedisKeys('{"uuid":"u","job":"x"}  ');
  assert.equal(text, `{"uuid":"u","job":"x","id":"${id}","attempts":0}`);
  const empty = withRedisKeys("{}");
  assert.equal(empty.text, `{"id":"${empty.id}","attempts":0}`);
  const partial = withRedisKeys('{"a":1,"attempts":"2","b":2}');
  assert.deepEqual(Object.keys(JSON.parse(partial.text)), ["a", "attempts", "b", "id"]);
  assert.equal(JSON.parse(partial.text).attempts, 0, "a non-numeric attempts becomes 0");
  assert.deepEqual(withRedisKeys("[1]"), { text: "[1]", id: "" });
});

Deno.test("redis payloads: a payload dispatch just built gets the same keys without a parse", () => {
  const input = { uuid: "u-1", name: "App\\Jobs\\X", command: 'O:1:"X":0:{}' };
  const built = buildPayloadText(input);
  const first = withRedisKeys(built);
  assert.equal(first.text, `${built.slice(0, -1)},"id":"${first.id}","attempts":0}`);
  assert.deepEqual(JSON.parse(first.text), { ...JSON.parse(built), id: first.id, attempts: 0 });
  // Pushed again (its memo is spent), or an equal text built elsewhere: the parsing path agrees.
  const again = withRedisKeys(built);
  assert.equal(again.text, `${built.slice(0, -1)},"id":"${again.id}","attempts":0}`);
  assert.notEqual(again.id, first.id);
  // Texts too large to remember still get their keys.
  const large = buildPayloadText({ ...input, command: `s:20000:"${"x".repeat(20000)}";` });
  assert.equal(JSON.parse(withRedisKeys(large).text).attempts, 0);
});

Deno.test("redis connection: openConnection wires the queue, failed jobs and counters", async (t) => {
  const server = await RedisServer.start();
  const raw = server.client();
  const cache = server.client(1);
  const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-connection-" });
  try {
    await t.step(
      "QUEUE_CONNECTION=redis: prefix, default queue, retry_after, a created failed store",
      async () => {
        const databasePath = `${dir}/fresh/database.sqlite`;
        const connection = await openConnection({
          env: envOf({
            ...server.env(),
            DB_DATABASE: databasePath,
            REDIS_QUEUE: "emails",
            REDIS_QUEUE_RETRY_AFTER: "7",
          }),
        });
        try {
          assert.equal(connection.name, "redis");
          assert.equal(connection.defaultQueue, "emails");
          assert.equal((connection.driver as RedisQueue).retryAfter, 7);
          assert.equal(
            connection.description,
            `redis (redis: 127.0.0.1:${server.port} db 0, prefix "laravel_database_"; failed jobs: sqlite ${databasePath})`,
          );
          assert.deepEqual(connection.warnings, []);
          assert.ok((await Deno.stat(databasePath)).isFile, "the failed-jobs database was created");
          await connection.driver.push(
            "emails",
            JSON.stringify({ uuid: "uuid-1", job: "x", data: {} }),
          );
          assert.deepEqual((await raw.keys("*")).sort(), [
            "laravel_database_queues:emails",
            "laravel_database_queues:emails:notify",
          ]);
          const [job] = await connection.driver.reserve(["emails"], 1);
          assert.equal(
            await connection.driver.fail(job!, { uuid: "uuid-1", exception: "Error: x" }),
            true,
          );
          const [row] = await connection.failed.list();
          assert.deepEqual([row!.uuid, row!.connection, row!.queue, row!.payload], [
            "uuid-1",
            "redis",
            "emails",
            job!.rawPayload,
          ]);
          assert.ok(connection.exceptions, "CACHE_STORE=database: the cache table of DB_DATABASE");
          assert.equal(await connection.exceptions.increment("uuid-1"), 1);
          assert.equal(await connection.exceptions.increment("uuid-1"), 2);
          assert.equal(await cache.dbsize(), 0, "nothing in the Redis cache database");
        } finally {
          await connection.close();
        }
      },
    );

    await t.step(
      "CACHE_STORE=redis: counters in RedisStore's layout on REDIS_CACHE_DB (05, Laravel 8 prefix)",
      async () => {
        await raw.flushall();
        const connection = await openConnection({
          name: "redis",
          env: envOf({
            ...server.env(),
            DB_DATABASE: `${dir}/database.sqlite`,
            CACHE_STORE: "redis",
            REDIS_PREFIX: "",
            CACHE_PREFIX: "laravel_cache:",
          }),
        });
        try {
          const laravel = step(
            await fixtureSteps("05-redis-failures.json"),
            "queue:work --once: exception #1",
          );
          const [, laravelKey, ttl, initial] = commands(laravel, "SETEX")[0]!;
          const uuid = laravelKey!.slice("laravel_cache:job-exceptions:".length);
          assert.equal(await connection.exceptions!.increment(uuid), 1);
          assert.deepEqual(await cache.keys("*"), [laravelKey], "the key Laravel used");
          assert.equal(
            await cache.get(laravelKey!),
            "1",
            "a raw integer, as RedisStore stores numbers",
          );
          assert.equal(initial, "0");
          const left = await cache.ttl(laravelKey!);
          assert.ok(left > Number(ttl) - 5 && left <= Number(ttl), `ttl ${left}`);
          assert.equal(await connection.exceptions!.increment(uuid), 2);
          await cache.set(laravelKey!, "0");
          assert.equal(
            await connection.exceptions!.increment(uuid),
            1,
            'PHP reads "0" as no counter',
          );
          assert.ok(await cache.ttl(laravelKey!) > 86_000, "and gives it a fresh day");
          await connection.exceptions!.reset(uuid);
          assert.equal(await cache.exists(laravelKey!), 0);
          assert.equal(await raw.dbsize(), 0, "nothing in the queue database");
        } finally {
          await connection.close();
        }
      },
    );

    await t.step(
      "CACHE_STORE=redis with Laravel 11's defaults: <REDIS_PREFIX><CACHE_PREFIX>job-exceptions:<uuid>",
      async () => {
        await cache.flushall();
        const connection = await openConnection({
          name: "redis",
          env: envOf({
            ...server.env(),
            DB_DATABASE: `${dir}/database.sqlite`,
            CACHE_STORE: "redis",
          }),
        });
        try {
          await connection.exceptions!.increment("abc");
          assert.deepEqual(await cache.keys("*"), [
            "laravel_database_laravel_cache_job-exceptions:abc",
          ]);
        } finally {
          await connection.close();
        }
      },
    );

    await t.step(
      "an existing database without a cache table, or another CACHE_STORE: counted in memory, with a warning",
      async () => {
        const path = `${dir}/laravel.sqlite`;
        const db = new DatabaseSync(path);
        for (const ddl of [...jobsTableDdl("jobs"), ...failedJobsTableDdl("failed_jobs")]) {
          db.exec(ddl);
        }
        db.close();
        for (
          const [extra, warning] of [
            [{}, /has no 'cache' table, so maxExceptions is counted in this process only/],
            [
              { CACHE_STORE: "file" },
              /CACHE_STORE=file is not supported for maxExceptions counters/,
            ],
          ] as const
        ) {
          const connection = await openConnection({
            name: "redis",
            env: envOf({ ...server.env(), DB_DATABASE: path, ...extra }),
          });
          try {
            assert.equal(connection.exceptions, undefined);
            assert.match(connection.warnings.join("\n"), warning);
          } finally {
            await connection.close();
          }
        }
      },
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite failed store: log() upserts by uuid, as Laravel's database-uuids provider", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-failed-log-" });
  try {
    const connection = await openSqliteDatabase(`${dir}/database.sqlite`);
    let now = Date.UTC(2026, 11, 3, 15, 29, 10, 500);
    const store = new SqliteFailedJobStore(connection, { clock: () => now });
    const entry = {
      uuid: "u1",
      connection: "redis",
      queue: "default",
      payload: "{}",
      exception: "E: 1",
    };
    await store.log(entry);
    now += 60_000;
    await store.log({ ...entry, payload: '{"attempts":1}', exception: "E: 2" });
    const rows = await store.list();
    assert.equal(rows.length, 1, "a uuid already there updates its row");
    assert.deepEqual([rows[0]!.payload, rows[0]!.exception, rows[0]!.failedAt], [
      '{"attempts":1}',
      "E: 2",
      "2026-12-03 15:30:10",
    ]);
    await assert.rejects(
      store.log({ ...entry, uuid: "" }),
      /Cannot record a failed job as 'uuid' must be a non-empty string/,
    );
    connection.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("redis connection: a Laravel database with failed_jobs but no jobs table is enough for the failed store", async () => {
  const server = await RedisServer.start();
  const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-failed-only-" });
  try {
    const path = `${dir}/app.sqlite`;
    // What Laravel 8's 2019_08_19_000000_create_failed_jobs_table migration makes (01-schema.json).
    const db = new DatabaseSync(path);
    db.exec(
      `CREATE TABLE "failed_jobs" ("id" integer primary key autoincrement not null, "uuid" varchar not null, "connection" text not null, "queue" text not null, "payload" text not null, "exception" text not null, "failed_at" datetime not null default CURRENT_TIMESTAMP)`,
    );
    db.exec(`CREATE UNIQUE INDEX "failed_jobs_uuid_unique" on "failed_jobs" ("uuid")`);
    db.close();
    const env: Record<string, string> = {
      REDIS_PORT: String(server.port),
      REDIS_PREFIX: "",
      DB_DATABASE: path,
    };
    const connection = await openConnection({ name: "redis", env: (name) => env[name] });
    assert.equal(connection.name, "redis");
    assert.deepEqual(await connection.failed.list(), []);
    await connection.close();
    const check = new DatabaseSync(path);
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((
      r,
    ) => r.name);
    check.close();
    assert.deepEqual(
      tables,
      ["failed_jobs", "sqlite_sequence"],
      "no jobs table was created in the app's database",
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
