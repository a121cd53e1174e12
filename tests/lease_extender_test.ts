/**
 * The lease extenders the supervisor Worker runs, driven in-process against
 * the real stores: an extension moves the reservation on; the in-memory
 * identity follows it (and an ack with a stale one still matches, since an
 * extension only moves `reserved_at` forward); a reservation that was
 * settled or taken over is never extended or brought back.
 */
import assert from "node:assert/strict";
import { openLeaseExtender as openSqliteExtender } from "../src/drivers/sqlite/lease_extender.ts";
import { openLeaseExtender as openRedisExtender } from "../src/drivers/redis/lease_extender.ts";
import { tempQueue } from "./sqlite_fixtures/helpers.ts";
import { openQueue, RedisServer, TestClock } from "./redis_fixtures/helpers.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);

Deno.test("lease extender (sqlite): extends reserved_at, the identity follows, a taken-over row is left alone", async () => {
  const t = await tempQueue();
  t.clock.at(nowSeconds() - 100); // the queue's clock is behind: an extension is visible
  const other = await t.another();
  for (const queue of [t.queue, other]) queue.leases!.useLease(3);
  const { moduleUrl, config } = t.queue.leases!.extender;
  assert.match(moduleUrl, /sqlite\/lease_extender\.ts$/);
  const extender = await openSqliteExtender(config);
  try {
    await t.queue.pushMany("default", ["a", "b", "c"]);
    const [a, b, c] = await t.queue.reserve(["default"], 3);
    for (const [key, job] of [[1, a!], [2, b!], [3, c!]] as const) {
      extender.add(key, t.queue.leases!.identityOf(job));
    }
    const updates = await extender.extendAll(3);
    assert.deepEqual(updates.map(([key]) => key).sort(), [1, 2, 3]);
    for (const [, reservedAt] of updates) assert.ok(reservedAt >= nowSeconds() - 1);
    assert.ok(t.rows().every((row) => (row.reserved_at as number) >= nowSeconds() - 1));

    // a follows its extension; b does not hear of it (a message still on its way): both still ack.
    t.queue.leases!.extended(a!, updates.find(([key]) => key === 1)![1]);
    assert.ok(a!.reservedAt >= nowSeconds() - 1);
    await t.queue.ack(a!);
    await t.queue.ack(b!);
    assert.equal(t.queue.lostReservations, 0);
    assert.deepEqual(t.rows().map((row) => row.payload), ["c"]);

    // c's lease lapses (the queue clock jumps past it) and the other connection takes it over.
    t.clock.at(nowSeconds() + 10);
    const [takenOver] = await other.reserve(["default"], 1);
    assert.equal(takenOver!.attempts, 2);
    assert.deepEqual(await extender.extendAll(3), [], "a row another worker holds is not extended");
    assert.equal(extender.size, 0, "acked and taken-over reservations were forgotten");
    assert.equal(t.rows()[0]!.reserved_at, takenOver!.reservedAt);
    await t.queue.ack(c!);
    assert.equal(t.queue.lostReservations, 1, "the stale ack matched nothing");
    await other.ack(takenOver!);
    assert.deepEqual(t.rows(), []);
  } finally {
    await extender.close();
    await t.cleanup();
  }
});

Deno.test("lease extender (redis): raises the :reserved score (replayed after a reconnect), never re-adds a settled or migrated member", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const clock = new TestClock(nowSeconds() - 100);
  const { queue } = await openQueue(server, { clock: clock.now, retryAfter: 90 });
  const { queue: other } = await openQueue(server, { clock: clock.now, retryAfter: 90 });
  for (const q of [queue, other]) q.leases.useLease(3);
  const extender = await openRedisExtender(queue.leases.extender.config);
  try {
    await queue.pushMany("default", ["a", "b", "c"].map((n) => JSON.stringify({ n })));
    const [a, b, c] = await queue.reserve(["default"], 3);
    const reservedScore = clock.seconds + 3;
    const scores = async () =>
      (await raw.zrange("queues:default:reserved", 0, -1, "WITHSCORES"))
        .filter((_, i) => i % 2 === 1).map(Number);
    assert.deepEqual(
      await scores(),
      [reservedScore, reservedScore, reservedScore],
      "lease, not retry_after",
    );
    for (const [key, job] of [[1, a!], [2, b!], [3, c!]] as const) {
      extender.add(key, queue.leases.identityOf(job));
    }
    const updates = await extender.extendAll(3);
    assert.deepEqual(updates.map(([key]) => key).sort(), [1, 2, 3]);
    const extendedTo = updates[0]![1];
    assert.ok(extendedTo >= nowSeconds() + 2 && extendedTo <= nowSeconds() + 3);
    assert.deepEqual(await scores(), [extendedTo, extendedTo, extendedTo], "an absolute expiry");

    // The supervisor's connection is cut: the extension is sent again once it is back.
    await raw.client("KILL", "TYPE", "normal", "SKIPME", "yes");
    const replayed = await extender.extendAll(4);
    assert.deepEqual(replayed.map(([key]) => key).sort(), [1, 2, 3], "replayed after a reconnect");
    assert.ok((await scores()).every((score) => score >= extendedTo + 1));

    queue.leases.extended(a!, extendedTo);
    await queue.ack(a!);
    await queue.release(b!, 0);
    // c's lease lapses (the queue clock jumps past it); the other queue migrates and takes it.
    clock.advance(200);
    const taken = await other.reserve(["default"], 2);
    assert.deepEqual(taken.map((j) => [JSON.parse(j.rawPayload).n, j.attempts]).sort(), [
      ["b", 2],
      ["c", 2],
    ]);
    const before = await scores();
    assert.deepEqual(await extender.extendAll(3), [], "no member of ours is left");
    assert.equal(extender.size, 0);
    assert.deepEqual(await scores(), before, "the other worker's leases are untouched");
    assert.equal(await raw.llen("queues:default"), 0, "nothing was brought back");
    assert.equal(queue.stats.lostReservations, 0);
  } finally {
    await extender.close();
    await queue.close();
    await other.close();
    await server.stop();
  }
});

Deno.test("lease extender (redis): a :reserved key of the wrong type is named with its type and the fix", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue } = await openQueue(server, { retryAfter: 90 });
  queue.leases.useLease(3);
  const extender = await openRedisExtender(queue.leases.extender.config);
  try {
    await queue.push("default", JSON.stringify({ n: 1 }));
    const [job] = await queue.reserve(["default"], 1);
    extender.add(1, queue.leases.identityOf(job!));
    // Someone replaces the sorted set with a list while the job runs.
    await raw.del("queues:default:reserved");
    await raw.rpush("queues:default:reserved", "x");
    await assert.rejects(
      extender.extendAll(3),
      /^RespReplyError: Cannot extend leases as Redis key queues:default:reserved is a list, not a zset: delete or rename the key$/,
    );
  } finally {
    await extender.close();
    await queue.close();
    await server.stop();
  }
});

Deno.test("lease extender (redis): logs in (ACL user + password) and selects the queue's database", async () => {
  const server = await RedisServer.start({
    args: ["--user", "default", "off", "--user", "kq", "on", ">s3cret", "~*", "&*", "+@all"],
  });
  const endpoint = { port: server.port, username: "kq", password: "s3cret", db: 2 };
  const { queue } = await openQueue(server, { endpoint });
  queue.leases.useLease(3);
  const wrong = {
    ...queue.leases.extender.config,
    endpoint: { ...endpoint, host: "127.0.0.1", tls: false, password: "nope" },
  };
  await assert.rejects(openRedisExtender(wrong), /refused the login: WRONGPASS/);
  const extender = await openRedisExtender(queue.leases.extender.config);
  try {
    await queue.push("default", JSON.stringify({ n: 1 }));
    const [job] = await queue.reserve(["default"], 1);
    extender.add(1, queue.leases.identityOf(job!));
    const [[key, score]] = await extender.extendAll(5) as [[number, number]];
    assert.equal(key, 1);
    assert.ok(score >= nowSeconds() + 4, "extended in database 2");
    await queue.ack(job!);
    assert.equal(queue.stats.lostReservations, 0);
  } finally {
    await extender.close();
    await queue.close();
    await server.stop();
  }
});
