/** RedisQueue semantics on a real redis-server: reserve, leases, release, requeue, fail, bad input. */
import assert from "node:assert/strict";
import { parsePayload } from "../src/payload/laravel_payload.ts";
import { commandCalls, openQueue, RedisServer, TestClock } from "./redis_fixtures/helpers.ts";
import type { RedisLostReservation } from "../src/drivers/redis/redis_queue_options.ts";
import type { QueueUnusableError } from "../src/errors.ts";

const job = (n: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ uuid: crypto.randomUUID(), job: "x", data: { n }, ...extra });

Deno.test("redis queue: semantics", async (t) => {
  const server = await RedisServer.start();
  const raw = server.client();
  const clock = new TestClock();
  const lost: RedisLostReservation[] = [];
  const { queue, failed } = await openQueue(server, {
    clock: clock.now,
    retryAfter: 30,
    onReservationLost: (l) => lost.push(l),
  });
  const reset = async () => {
    await raw.flushall();
    lost.length = 0;
    failed.entries.length = 0;
  };
  const n = (j: { rawPayload: string }) => JSON.parse(j.rawPayload).data.n;
  try {
    await t.step(
      "reserve takes queues in priority order, FIFO within each, up to the limit",
      async () => {
        await reset();
        await queue.pushMany("low", [job(1), job(2)]);
        await queue.pushMany("high", [job(3), job(4), job(5)]);
        const jobs = await queue.reserve(["high", "low"], 4);
        assert.deepEqual(jobs.map((j) => [j.queue, n(j)]), [
          ["high", 3],
          ["high", 4],
          ["high", 5],
          ["low", 1],
        ]);
        assert.deepEqual(await queue.counts("low"), { ready: 1, delayed: 0, reserved: 1 });
        assert.deepEqual(await queue.counts("high"), { ready: 0, delayed: 0, reserved: 3 });
      },
    );

    await t.step("pushMany is one call; acks of one turn share one call", async () => {
      await reset();
      const before = await commandCalls(raw, "evalsha");
      await queue.pushMany("default", Array.from({ length: 50 }, (_, i) => job(i)));
      assert.equal(await commandCalls(raw, "evalsha") - before, 1);
      const jobs = await queue.reserve(["default"], 50);
      const afterReserve = await commandCalls(raw, "evalsha");
      await Promise.all(jobs.map((j) => queue.ack(j)));
      assert.equal(
        await commandCalls(raw, "evalsha") - afterReserve,
        1,
        "one ACK call for 50 acks",
      );
      assert.deepEqual(await queue.counts("default"), { ready: 0, delayed: 0, reserved: 0 });
    });

    await t.step(
      "acks wait for the next reserve (or a short timer) and go right behind it",
      async () => {
        await reset();
        const { queue: patient } = await openQueue(server, { ackFlushDelayMs: 60_000 });
        let last: Promise<boolean> | undefined;
        try {
          await patient.pushMany("default", [job(1), job(2), job(3), job(4)]);
          const jobs = await patient.reserve(["default"], 3);
          let acked = 0;
          const acks = jobs.map((j) => patient.ack(j).then(() => acked++));
          await new Promise((resolve) => setTimeout(resolve, 20));
          assert.equal(acked, 0);
          assert.equal((await queue.counts("default")).reserved, 3, "nothing sent before a flush");
          const next = await patient.reserve(["default"], 3);
          await Promise.all(acks);
          assert.deepEqual(next.map(n), [4]);
          assert.deepEqual(await queue.counts("default"), { ready: 0, delayed: 0, reserved: 1 });
          last = patient.ack(next[0]!);
        } finally {
          await patient.close(); // flushes the last ack
        }
        await last;
        assert.equal((await queue.counts("default")).reserved, 0);
        await queue.push("default", job(5));
        const [only] = await queue.reserve(["default"], 1);
        await queue.ack(only!); // the default delay: flushed by its timer
        assert.deepEqual(await queue.counts("default"), { ready: 0, delayed: 0, reserved: 0 });
      },
    );

    await t.step(
      "a delayed job is migrated to the list when due (whole seconds, rounded up)",
      async () => {
        await reset();
        clock.ms = 1_796_312_037_400; // .4 s into a second: a 10 s delay is due at :048
        await queue.push("default", job(1), { delay: 10 });
        assert.equal(
          (await raw.zrange("queues:default:delayed", 0, -1, "WITHSCORES"))[1],
          "1796312048",
        );
        assert.equal(
          await raw.exists("queues:default:notify"),
          0,
          "a delayed push sends no notify",
        );
        clock.ms = 1_796_312_047_999;
        assert.deepEqual(await queue.reserve(["default"], 1), []);
        clock.ms = 1_796_312_048_000;
        const [due] = await queue.reserve(["default"], 1);
        assert.equal(n(due!), 1);
        assert.equal(due!.attempts, 1);
        assert.equal(
          await raw.llen("queues:default:notify"),
          0,
          "migrate's notify was popped with it",
        );
      },
    );

    await t.step(
      "an expired reservation comes back with its attempt counted; the old holder lost it",
      async () => {
        await reset();
        clock.ms = 1_796_312_037_000;
        await queue.push("default", job(1));
        const [first] = await queue.reserve(["default"], 1);
        const reservedCopy = (await raw.zrange("queues:default:reserved", 0, -1))[0]!;
        clock.advance(29);
        assert.deepEqual(await queue.reserve(["default"], 1), [], "lease still valid");
        clock.advance(1);
        const [second] = await queue.reserve(["default"], 1);
        assert.equal(second!.attempts, 2);
        assert.equal(
          second!.rawPayload,
          reservedCopy,
          "the reserved copy migrated back is the new list copy",
        );
        assert.equal(await queue.ack(first!), false, "the ack says the reservation was lost");
        assert.deepEqual(lost.map((l) => l.operation), ["ack"]);
        assert.equal(
          await raw.zcard("queues:default:reserved"),
          1,
          "the new holder's lease is untouched",
        );
        assert.equal(await queue.ack(second!), true);
        assert.equal(await raw.zcard("queues:default:reserved"), 0);
      },
    );

    await t.step(
      "release: the reserved form to :delayed at now + delay; nothing when the lease was lost",
      async () => {
        await reset();
        clock.ms = 1_796_312_037_000;
        await queue.pushMany("default", [job(1), job(2)]);
        const [a, b] = await queue.reserve(["default"], 2);
        const reservedA = (await raw.zrange("queues:default:reserved", 0, -1)).find((m) =>
          JSON.parse(m).data.n === 1
        )!;
        await queue.release(a!, 5);
        assert.deepEqual(await raw.zrange("queues:default:delayed", 0, -1, "WITHSCORES"), [
          reservedA,
          "1796312042",
        ]);
        await queue.release(b!, 0);
        assert.equal(
          (await raw.zrange("queues:default:delayed", 0, 0, "WITHSCORES"))[1],
          "1796312037",
        );
        assert.equal(await raw.zcard("queues:default:reserved"), 0);
        assert.equal(await queue.release(a!, 5), false, "the release says the lease was lost");
        assert.equal(
          await raw.zcard("queues:default:delayed"),
          2,
          "a second release of a lost lease adds nothing",
        );
        assert.deepEqual(lost.map((l) => l.operation), ["release"]);
        clock.advance(5);
        const again = await queue.reserve(["default"], 2);
        assert.deepEqual(again.map((j) => j.attempts), [2, 2]);
      },
    );

    await t.step(
      "a release or requeue due past 2106 (Laravel's last available_at) is refused; the job stays reserved",
      async () => {
        await reset();
        clock.ms = 1_796_312_037_000;
        await queue.push("default", job(1));
        const [one] = await queue.reserve(["default"], 1);
        const most = 4_294_967_295 - 1_796_312_037;
        for (const settle of [queue.release, queue.requeue]) {
          await assert.rejects(
            settle.call(queue, one!, most + 1),
            new RangeError(
              `Cannot ${settle === queue.release ? "release" : "requeue"} a job: a delay of ${
                most + 1
              } seconds is too long: it puts the job past unix time 4294967295 (2106-02-07 ` +
                `06:28:15 UTC), the latest available_at Laravel's jobs table holds: use at most ` +
                `${most} seconds`,
            ),
          );
        }
        assert.equal(await raw.zcard("queues:default:reserved"), 1);
        assert.equal(await queue.release(one!, most), true);
        assert.equal(
          (await raw.zrange("queues:default:delayed", 0, 0, "WITHSCORES"))[1],
          "4294967295",
        );
      },
    );

    await t.step(
      "requeue restores the original at the head with a notify; no attempt counted",
      async () => {
        await reset();
        await queue.pushMany("default", [job(1), job(2), job(3)]);
        const [one] = await queue.reserve(["default"], 1);
        const original = one!.rawPayload;
        assert.equal(await queue.requeue(one!), true);
        assert.equal(await raw.lindex("queues:default", 0), original, "byte-exact, at the head");
        assert.equal(await raw.llen("queues:default:notify"), 3);
        assert.equal(await raw.zcard("queues:default:reserved"), 0);
        const [again] = await queue.reserve(["default"], 1);
        assert.equal(n(again!), 1);
        assert.equal(again!.attempts, 1, "the attempt was not burned");
        await queue.ack(again!);
        clock.ms = 1_796_312_037_000;
        const [held] = await queue.reserve(["default"], 1);
        clock.advance(30);
        const retaken = await queue.reserve(["default"], 5);
        assert.deepEqual(retaken.map((j) => [n(j), j.attempts]), [[3, 1], [n(held!), 2]]);
        assert.equal(await queue.requeue(held!), false, "the requeue says the lease was lost");
        assert.deepEqual(lost.map((l) => l.operation), ["requeue"], "a lost lease changes nothing");
        assert.equal(await raw.llen("queues:default"), 0);
        assert.equal(await raw.zcard("queues:default:reserved"), 2);
      },
    );

    await t.step(
      "requeue with a delay parks the untouched list copy in :delayed until then",
      async () => {
        await reset();
        clock.ms = 1_796_312_037_000;
        await queue.push("default", job(1));
        const [one] = await queue.reserve(["default"], 1);
        await queue.requeue(one!, 30);
        assert.equal(await raw.zcard("queues:default:reserved"), 0);
        const parked = await raw.zrange("queues:default:delayed", 0, -1, "WITHSCORES");
        assert.deepEqual(parked, [one!.rawPayload, "1796312067"], "the list copy, due in 30 s");
        assert.deepEqual(await queue.reserve(["default"], 1), [], "not due yet");
        clock.advance(30);
        const [again] = await queue.reserve(["default"], 1);
        assert.equal(again!.attempts, 1, "the attempt was not counted");
        await queue.ack(again!);
      },
    );

    await t.step(
      "fail writes failed_jobs with the list copy; false and nothing written when lost",
      async () => {
        await reset();
        clock.ms = 1_796_312_037_000;
        await queue.pushMany("default", [job(1), job(2)]);
        const [a, b] = await queue.reserve(["default"], 2);
        assert.equal(await queue.fail(a!, { uuid: "uuid-a", exception: "Error: boom" }), true);
        assert.deepEqual(failed.entries, [{
          uuid: "uuid-a",
          connection: "redis",
          queue: "default",
          payload: a!.rawPayload,
          exception: "Error: boom",
        }]);
        assert.equal(
          JSON.parse(failed.entries[0]!.payload).attempts,
          0,
          "pre-increment, as Laravel records",
        );
        clock.advance(30);
        const [taken] = await queue.reserve(["default"], 1);
        assert.equal(n(taken!), 2);
        assert.equal(await queue.fail(b!, { uuid: "uuid-b", exception: "Error: late" }), false);
        assert.equal(failed.entries.length, 1, "no row for a reservation another worker holds");
        assert.equal(await raw.zcard("queues:default:reserved"), 1);
      },
    );

    await t.step(
      "fail: when failed_jobs can't be written, the reservation is put back and the error thrown",
      async () => {
        await reset();
        await queue.push("default", job(1));
        const [a] = await queue.reserve(["default"], 1);
        const before = await raw.zrange("queues:default:reserved", 0, -1, "WITHSCORES");
        failed.failNext = new Error("disk full");
        await assert.rejects(queue.fail(a!, { uuid: "u", exception: "e" }), /disk full/);
        assert.deepEqual(await raw.zrange("queues:default:reserved", 0, -1, "WITHSCORES"), before);
        assert.equal(
          await queue.fail(a!, { uuid: "u", exception: "e" }),
          true,
          "a later fail succeeds",
        );
      },
    );

    await t.step(
      "a malformed member between two good ones: all three come back, the good ones intact",
      async () => {
        await reset();
        const good1 = job(1, { attempts: 0, id: "a".repeat(32) });
        const good2 = job(2, { attempts: 0, id: "b".repeat(32) });
        for (const member of [good1, "{not json", "[1,2]", '"text"', good2]) {
          await raw.rpush("queues:default", member);
          await raw.rpush("queues:default:notify", "1");
        }
        const jobs = await queue.reserve(["default"], 10);
        assert.deepEqual(jobs.map((j) => j.rawPayload), [
          good1,
          "{not json",
          "[1,2]",
          '"text"',
          good2,
        ]);
        assert.deepEqual(jobs.map((j) => j.attempts), [1, 1, 1, 1, 1]);
        assert.equal(jobs[4]!.id, "b".repeat(32));
        const members = await raw.zrange("queues:default:reserved", 0, -1);
        assert.equal(members.length, 5);
        for (const bad of ["{not json", "[1,2]", '"text"']) {
          assert.ok(members.includes(bad), "moved unchanged");
        }
        assert.equal(await raw.llen("queues:default:notify"), 0);
        // The runtime fails them: its payload check gives the reason, and the row gets a fresh uuid.
        assert.throws(() => parsePayload(jobs[1]!.rawPayload), /not valid JSON/);
        assert.throws(() => parsePayload(jobs[2]!.rawPayload), /must be a JSON object/);
        assert.equal(
          await queue.fail(jobs[1]!, { uuid: crypto.randomUUID(), exception: "x" }),
          true,
        );
        assert.equal(failed.entries[0]!.payload, "{not json");
        assert.equal(await raw.zscore("queues:default:reserved", "{not json"), null);
      },
    );

    await t.step(
      "a JSON object without a numeric attempts reaches the runtime marked invalid, with the reason",
      async () => {
        await reset();
        const noAttempts = JSON.stringify({ uuid: "uuid-no-attempts", job: "x", data: {} });
        const stringAttempts = JSON.stringify({ job: "x", data: {}, attempts: "0", id: "id-7\n" });
        for (
          const member of [
            job(1, { attempts: 0 }),
            noAttempts,
            stringAttempts,
            job(2, { attempts: 0 }),
          ]
        ) {
          await raw.rpush("queues:default", member);
        }
        const jobs = await queue.reserve(["default"], 10);
        assert.equal(jobs.length, 4);
        assert.deepEqual(jobs.filter((j) => j.invalid === undefined).map(n), [1, 2]);
        const marked = jobs.filter((j) => j.invalid !== undefined);
        assert.deepEqual(marked.map((j) => j.rawPayload), [noAttempts, stringAttempts]);
        for (const j of marked) assert.match(j.invalid!, /Redis payload has no numeric "attempts"/);
        // The script could not read their ids: the payload's own, escaped, or none.
        assert.deepEqual(marked.map((j) => j.id), ["", "id-7\\u000a"]);
        // The runtime fails them (daemon test: daemon_payload_fuzz_test.ts): the exact member goes.
        for (const j of marked) {
          assert.equal(await queue.fail(j, { uuid: crypto.randomUUID(), exception: "x" }), true);
        }
        assert.deepEqual(
          failed.entries.map((e) => e.payload).sort(),
          [noAttempts, stringAttempts].sort(),
        );
        assert.equal(await raw.zcard("queues:default:reserved"), 2);
      },
    );

    await t.step(
      "a key of the wrong type is refused before anything moves, naming its queue",
      async () => {
        await reset();
        await queue.pushMany("default", [job(1), job(2)]);
        await queue.pushMany("low", [job(3)]);
        await raw.set("queues:low:reserved", "oops");
        await assert.rejects(queue.reserve(["default", "low"], 10), (error: Error) => {
          assert.equal(error.name, "QueueUnusableError");
          assert.equal((error as QueueUnusableError).queue, "low");
          assert.equal(
            error.message,
            "Cannot reserve jobs from queue 'low' as Redis key queues:low:reserved is a string, " +
              "not a zset: delete or rename the key",
          );
          return true;
        });
        assert.equal(await raw.llen("queues:default"), 2, "no job was popped, not even default's");
        await raw.del("queues:low:notify");
        await raw.hset("queues:low:notify", "f", "v");
        await raw.del("queues:low:reserved");
        await assert.rejects(
          queue.reserve(["low"], 10),
          /^QueueUnusableError: .*Redis key queues:low:notify is a hash, not a list/,
        );
        assert.equal((await queue.reserve(["default"], 10)).length, 2, "default is fine alone");
      },
    );

    await t.step("migration is bounded per call (migrateBatchSize)", async () => {
      await reset();
      const { queue: small } = await openQueue(server, { clock: clock.now, migrateBatchSize: 2 });
      try {
        for (let i = 0; i < 5; i++) {
          await raw.zadd("queues:default:delayed", clock.seconds - 10 + i, job(i, { attempts: 0 }));
        }
        const [first] = await small.reserve(["default"], 1);
        assert.equal(n(first!), 0, "lowest score first");
        assert.equal(await raw.zcard("queues:default:delayed"), 3);
        assert.equal(await raw.llen("queues:default"), 1);
        assert.equal(await raw.llen("queues:default:notify"), 1, "one notify per migrated job");
      } finally {
        await small.close();
      }
    });

    await t.step(
      "payloads: id and attempts added to database-form JSON; id/attempts kept; raw text kept",
      async () => {
        await reset();
        const laravelStyle = '{"uuid":"u","job":"A\\/B","data":{"command":"O:1:\\"A\\":0:{}"}}';
        const [id] = await queue.pushMany("default", [laravelStyle]);
        assert.equal(
          await raw.lindex("queues:default", 0),
          `${laravelStyle.slice(0, -1)},"id":"${id}","attempts":0}`,
        );
        await raw.del("queues:default");
        const retried = JSON.stringify({ uuid: "u", id: "Z".repeat(32), attempts: 0, job: "x" });
        assert.deepEqual(await queue.pushMany("default", [retried, "not json"]), [
          "Z".repeat(32),
          "",
        ]);
        assert.deepEqual(await raw.lrange("queues:default", 0, -1), [retried, "not json"]);
        await assert.rejects(
          queue.push("", "{}"),
          /Cannot push jobs as 'queue' must be a non-empty string/,
        );
        await assert.rejects(queue.reserve(["default"], 0), /'limit' must be a positive integer/);
        await assert.rejects(
          queue.ack({ id: "1", queue: "default", rawPayload: "{}", attempts: 1, reservedAt: 0 }),
          /must be a job reserved by a RedisQueue/,
        );
      },
    );
  } finally {
    await queue.close();
    await server.stop();
  }
});
