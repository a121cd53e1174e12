/**
 * Golden tests: KQueue's Redis driver against real Laravel traffic captured
 * in tests/fixtures/laravel (02, 04, 05, 10). The reserved copies are made
 * by the same Redis (7.0.15) cjson as in the capture, so they must match
 * Laravel's byte for byte.
 */
import assert from "node:assert/strict";
import { prepareDispatch } from "../src/dispatch.ts";
import { parsePayload } from "../src/payload/laravel_payload.ts";
import { CountProbe } from "./fixtures/jobs/probe_jobs.ts";
import {
  commands,
  fixtureSteps,
  laravelFixture,
  openQueue,
  RedisServer,
  step,
  TestClock,
} from "./redis_fixtures/helpers.ts";

/** Laravel's createObjectPayload key order, then RedisQueue's `id`, `attempts`. */
const LARAVEL_KEY_ORDER = [
  "uuid",
  "displayName",
  "job",
  "maxTries",
  "maxExceptions",
  "failOnTimeout",
  "backoff",
  "timeout",
  "retryUntil",
  "data",
  "id",
  "attempts",
];

/** The `now` a Laravel pop used: the migrate script's ARGV[1]. */
function popNow(s: Parameters<typeof commands>[0]): number {
  const migrate = commands(s, "EVAL").find((args) => args[1]!.includes("migrateExpiredJobs"))!;
  return Number(migrate.at(-1));
}

function zaddsOf(s: Parameters<typeof commands>[0]) {
  return commands(s, "zadd").map((args) => ({
    key: args[1]!,
    score: Number(args[2]),
    member: args[3]!,
  }));
}

Deno.test("redis format: golden tests against Laravel's captured Redis traffic", async (t) => {
  const server = await RedisServer.start();
  const raw = server.client();
  const clock = new TestClock();
  const { queue, failed } = await openQueue(server, { clock: clock.now, retryAfter: 90 });
  const reset = () => raw.flushall();
  try {
    await t.step(
      "a KQueue-dispatched payload has Laravel's fields in Laravel's order, then id and attempts",
      async () => {
        await reset();
        const prepared = prepareDispatch(CountProbe, { file: "/tmp/x", n: 7 });
        const id = await queue.push("default", prepared.payload);
        const [stored] = await raw.lrange("queues:default", 0, -1);
        assert.match(id, /^[A-Za-z0-9]{32}$/);
        assert.ok(
          stored!.startsWith(prepared.payload.slice(0, -1)),
          "the dispatched bytes are kept",
        );
        assert.equal(stored, `${prepared.payload.slice(0, -1)},"id":"${id}","attempts":0}`);
        assert.deepEqual(Object.keys(JSON.parse(stored!)), LARAVEL_KEY_ORDER);
        const laravel = step(await fixtureSteps("02-redis-dispatch.json"), "SendEmail");
        const [, , , , , laravelPayload] = commands(laravel, "EVAL")[0]!;
        assert.deepEqual(Object.keys(JSON.parse(laravelPayload!)), LARAVEL_KEY_ORDER);
        assert.deepEqual(await raw.lrange("queues:default:notify", 0, -1), ["1"]);
      },
    );

    await t.step(
      "a Laravel payload pushed raw is reserved exactly as Laravel's pop does (04: SendEmail)",
      async () => {
        await reset();
        const steps = await fixtureSteps("04-redis-worker.json");
        const dispatched = step(steps, "dispatch SendEmail").redis_after!.db0["queues:default"]!;
        const listCopy = dispatched.items![0]!.raw;
        const pop = step(steps, "queue:work redis --once  (success");
        const [laravelReserved] = zaddsOf(pop);
        await raw.rpush("queues:default", listCopy);
        await raw.rpush("queues:default:notify", "1");
        clock.ms = popNow(pop) * 1000;

        const [job] = await queue.reserve(["default"], 10);
        assert.ok(job);
        assert.equal(job.rawPayload, listCopy, "rawPayload is the list copy, unchanged");
        assert.equal(JSON.parse(job.rawPayload).attempts, 0);
        assert.equal(job.attempts, 1, "Laravel's attempts(): list copy + 1");
        assert.equal(job.id, "6MBNxfYtRxj98B9gHgpKfJfWNXnmIHJ0");
        assert.equal(job.queue, "default");
        const reserved = await raw.zrange("queues:default:reserved", 0, -1, "WITHSCORES");
        assert.deepEqual(reserved, [laravelReserved!.member, String(laravelReserved!.score)]);
        assert.equal(laravelReserved!.score, popNow(pop) + 90, "score = now + retry_after");
        assert.equal(await raw.llen("queues:default:notify"), 0, "one notify popped per job");

        await queue.ack(job);
        assert.equal(
          await raw.exists("queues:default:reserved"),
          0,
          "the byte-exact ZREM removed it",
        );
      },
    );

    await t.step(
      "five more Laravel payload kinds (model, encrypted, closure, string jobs) reserve byte-identically",
      async () => {
        await reset();
        const steps = await fixtureSteps("04-redis-worker.json");
        const index = steps.findIndex((s) => s.step.startsWith("dispatched WelcomeUser"));
        const listCopies = steps[index]!.redis_after!.db0["queues:default"]!.items!.map((i) =>
          i.raw
        );
        const pops = steps.slice(index + 1, index + 6);
        assert.equal(listCopies.length, 5);
        for (const copy of listCopies) await raw.rpush("queues:default", copy);
        clock.ms = popNow(pops[0]!) * 1000;

        const jobs = await queue.reserve(["default"], 5);
        assert.deepEqual(jobs.map((j) => j.rawPayload), listCopies);
        const laravel = pops.map((s) => zaddsOf(s)[0]!.member);
        assert.deepEqual(
          (await raw.zrange("queues:default:reserved", 0, -1)).sort(),
          [...laravel].sort(),
          "cjson re-encoding (key order, [] → {}, \\/ kept) identical to Laravel's",
        );
        for (const job of jobs) assert.equal(job.attempts, 1);
        for (const job of jobs) await queue.ack(job);
      },
    );

    await t.step(
      "release puts the reserved form on :delayed at now + delay (04: release(3))",
      async () => {
        await reset();
        const steps = await fixtureSteps("04-redis-worker.json");
        const listCopy = step(steps, "dispatch ReleasingJob").redis_after!.db0["queues:default"]!
          .items![0]!.raw;
        const attempt = step(steps, "queue:work --once  (attempt 1 releases");
        const [reservedByLaravel, delayedByLaravel] = zaddsOf(attempt);
        await raw.rpush("queues:default", listCopy);
        clock.ms = popNow(attempt) * 1000;

        const [job] = await queue.reserve(["default"], 1);
        await queue.release(job!, 3);
        assert.equal(delayedByLaravel!.key, "queues:default:delayed");
        assert.equal(
          delayedByLaravel!.member,
          reservedByLaravel!.member,
          "Laravel releases the reserved form",
        );
        assert.deepEqual(await raw.zrange("queues:default:delayed", 0, -1, "WITHSCORES"), [
          delayedByLaravel!.member,
          String(delayedByLaravel!.score),
        ]);
        assert.equal(await raw.exists("queues:default:reserved"), 0);

        // "after it is due": migrated back to the list and popped as attempt 2.
        const due = step(steps, "queue:work --once  after it is due");
        clock.ms = popNow(due) * 1000;
        const [again] = await queue.reserve(["default"], 1);
        assert.equal(again!.rawPayload, delayedByLaravel!.member);
        assert.equal(again!.attempts, 2);
        assert.deepEqual(await raw.zrange("queues:default:reserved", 0, -1), [
          zaddsOf(due)[0]!.member,
        ]);
        await queue.ack(again!);
      },
    );

    await t.step("queues are taken in --queue=high,default order (04)", async () => {
      await reset();
      const steps = await fixtureSteps("04-redis-worker.json");
      const before =
        step(steps, 'dispatch SendEmail to "default" then GenerateReport').redis_after!.db0;
      await raw.rpush("queues:default", before["queues:default"]!.items![0]!.raw);
      await raw.rpush("queues:high", before["queues:high"]!.items![0]!.raw);
      const first = step(steps, "queue:work --once --queue=high,default  (tries");
      const second = step(steps, "queue:work --once --queue=high,default  (high is empty");
      clock.ms = popNow(first) * 1000;
      const [high] = await queue.reserve(["high", "default"], 1);
      assert.equal(high!.queue, "high");
      assert.deepEqual(await raw.zrange("queues:high:reserved", 0, -1), [
        zaddsOf(first)[0]!.member,
      ]);
      const [low] = await queue.reserve(["high", "default"], 1);
      assert.equal(low!.queue, "default");
      assert.deepEqual(await raw.zrange("queues:default:reserved", 0, -1), [
        zaddsOf(second)[0]!.member,
      ]);
    });

    await t.step(
      "a final failure records the LIST copy in failed_jobs, as Laravel did (05)",
      async () => {
        await reset();
        const steps = await fixtureSteps("05-redis-failures.json");
        const delayed = step(steps, "queue:work --once: migrated back, attempt 2").redis_after!
          .db0["queues:default:delayed"]!.members![0]!;
        const final = step(steps, "queue:work --once: attempt 3 throws");
        await raw.zadd("queues:default:delayed", delayed.score, delayed.raw);
        clock.ms = popNow(final) * 1000;

        const [job] = await queue.reserve(["default"], 1);
        assert.equal(job!.attempts, 3);
        assert.deepEqual(await raw.zrange("queues:default:reserved", 0, -1), [
          zaddsOf(final)[0]!.member,
        ]);
        const laravelRow = final.db_after!.failed_jobs[0]!;
        const payload = parsePayload(job!.rawPayload);
        assert.equal(
          await queue.fail(job!, { uuid: payload.uuid!, exception: "RuntimeException: x" }),
          true,
        );
        assert.equal(failed.entries.length, 1);
        assert.equal(
          failed.entries[0]!.payload,
          laravelRow.payload,
          "byte-identical failed_jobs.payload",
        );
        assert.equal(failed.entries[0]!.uuid, laravelRow.uuid);
        assert.equal(failed.entries[0]!.queue, "default");
        assert.equal(failed.entries[0]!.connection, "redis");
        assert.equal(await raw.exists("queues:default:reserved"), 0);
        failed.entries.length = 0;
      },
    );

    await t.step("delayed dispatch is a plain ZADD at now + delay, no notify (10)", async () => {
      await reset();
      const run = ((await laravelFixture("10-redis-prefix-and-clients.json")).runs as {
        dispatch_delayed: { redis_commands: { args: string[] }[]; redis_after: { now: number } };
      }[])[0]!;
      const [, key, score, member] = run.dispatch_delayed.redis_commands.find((c) =>
        c.args[0] === "ZADD"
      )!.args;
      clock.ms = run.dispatch_delayed.redis_after.now * 1000;
      await queue.push("high", member!, { delay: 60 });
      assert.deepEqual(await raw.zrange(key!, 0, -1, "WITHSCORES"), [member, score]);
      assert.deepEqual(await raw.keys("*"), [key], "no list, no notify");
    });
  } finally {
    await queue.close();
    await server.stop();
  }
});

Deno.test("redis format: key names match Laravel's, with and without the stock prefix (10)", async (t) => {
  const server = await RedisServer.start();
  const raw = server.client();
  const fixture = await laravelFixture("10-redis-prefix-and-clients.json");
  interface Run {
    config: string;
    dispatch: { redis_commands: { args: string[] }[] };
    dispatch_delayed: { redis_commands: { args: string[] }[] };
    work: { redis_commands: { args: string[] }[] };
  }
  try {
    for (
      const run of (fixture.runs as Run[]).filter((r) => r.config.startsWith("client=phpredis"))
    ) {
      const prefix = /prefix=(\S*)/.exec(run.config)![1]!.replace(/'/g, "");
      await t.step(`prefix "${prefix}"`, async () => {
        await raw.flushall();
        const { queue } = await openQueue(server, { prefix });
        try {
          const push = run.dispatch.redis_commands.find((c) => c.args[0] === "EVAL")!.args;
          const later = run.dispatch_delayed.redis_commands.find((c) => c.args[0] === "ZADD")!.args;
          const pop = run.work.redis_commands.find((c) => c.args[1]?.includes("pop"))!.args;
          const zrem = run.work.redis_commands.find((c) => c.args[0] === "ZREM")!.args;

          await queue.push("default", push[5]!);
          assert.deepEqual((await raw.keys("*")).sort(), [push[3], push[4]].sort());
          assert.deepEqual(
            await raw.lrange(push[3]!, 0, -1),
            [push[5]],
            "a payload with id/attempts is stored as is",
          );
          await queue.push("high", later[3]!, { delay: 60 });
          assert.equal(await raw.type(later[1]!), "zset");

          const [job] = await queue.reserve(["default"], 1);
          assert.deepEqual([pop[3], pop[4], pop[5]], [push[3], `${push[3]}:reserved`, push[4]]);
          assert.equal(await raw.zcard(pop[4]!), 1);
          assert.equal(zrem[1], pop[4]);
          assert.equal(await raw.exists(pop[5]!), 0, "its notify token was popped");
          await queue.ack(job!);
          assert.deepEqual(await raw.keys("*"), [later[1]], "only the delayed job is left");
        } finally {
          await queue.close();
        }
      });
    }

    await t.step("a hash-tagged queue name ({default}) works unchanged", async () => {
      await raw.flushall();
      const { queue } = await openQueue(server, { prefix: "laravel_database_" });
      try {
        await queue.push("{default}", JSON.stringify({ uuid: "u", job: "x", data: {} }));
        const [job] = await queue.reserve(["{default}"], 1);
        assert.equal(job!.queue, "{default}");
        assert.deepEqual((await raw.keys("*")).sort(), [
          "laravel_database_queues:{default}:reserved",
        ]);
        await queue.ack(job!);
      } finally {
        await queue.close();
      }
    });
  } finally {
    await server.stop();
  }
});
