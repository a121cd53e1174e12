/** waitForJobs: one BLPOP over every queue, woken by pushes, due times and aborts; close leaves nothing running. */
import assert from "node:assert/strict";
import {
  commandCalls,
  openQueue,
  RedisServer,
  until,
  untilBlocked,
} from "./redis_fixtures/helpers.ts";

const job = (n: number) => JSON.stringify({ uuid: crypto.randomUUID(), job: "x", data: { n } });

Deno.test("redis wait: waking without polling", async (t) => {
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue } = await openQueue(server);
  const { queue: producer } = await openQueue(server);
  const queues = ["high", "default", "low"];
  try {
    for (const target of ["low", "high", "default"]) {
      await t.step(
        `a push to "${target}" wakes a wait on [high, default, low] within a few ms`,
        async () => {
          assert.deepEqual(await queue.reserve(queues, 10), []);
          const waiting = queue.waitForJobs(queues, 30_000);
          await untilBlocked(raw, 1);
          const pushedAt = performance.now();
          await producer.push(target, job(1));
          await waiting;
          const elapsed = performance.now() - pushedAt;
          assert.ok(elapsed < 200, `woke after ${elapsed.toFixed(1)} ms`);
          const jobs = await queue.reserve(queues, 10);
          assert.deepEqual(jobs.map((j) => j.queue), [target], "the wake-up brought the job along");
          await queue.ack(jobs[0]!);
        },
      );
    }

    await t.step(
      "a delayed job coming due ends the wait (no notify is ever pushed for it)",
      async () => {
        await producer.push("default", job(2), { delay: 1 });
        const [, score] = await raw.zrange("queues:default:delayed", 0, -1, "WITHSCORES");
        assert.deepEqual(await queue.reserve(queues, 10), [], "not due yet");
        await queue.waitForJobs(queues, 30_000);
        const dueAt = Number(score) * 1000;
        const late = Date.now() - dueAt;
        assert.ok(late >= -5 && late < 150, `woke ${late} ms after the due second`);
        const [due] = await queue.reserve(queues, 10);
        assert.equal(JSON.parse(due!.rawPayload).data.n, 2);
        await queue.ack(due!);
      },
    );

    await t.step("an abort ends the wait at once, and the BLPOP on the server too", async () => {
      const controller = new AbortController();
      const waiting = queue.waitForJobs(queues, 30_000, controller.signal);
      await untilBlocked(raw, 1);
      const abortedAt = performance.now();
      controller.abort();
      await waiting;
      const elapsed = performance.now() - abortedAt;
      assert.ok(elapsed < 20, `returned ${elapsed.toFixed(1)} ms after the abort`);
      await untilBlocked(raw, 0, 500);
      // The next wait still wakes on a push.
      const again = queue.waitForJobs(queues, 30_000);
      await untilBlocked(raw, 1);
      await producer.push("low", job(3));
      await again;
      const [woken] = await queue.reserve(queues, 10);
      assert.equal(JSON.parse(woken!.rawPayload).data.n, 3);
      await queue.ack(woken!);
    });

    await t.step("an idle wait does not poll: a BLPOP and a reserve per 1 s slice", async () => {
      const before = {
        blpop: await commandCalls(raw, "blpop"),
        evalsha: await commandCalls(raw, "evalsha"),
      };
      await queue.waitForJobs(queues, 2500);
      const blpops = await commandCalls(raw, "blpop") - before.blpop;
      const scripts = await commandCalls(raw, "evalsha") - before.evalsha;
      assert.ok(blpops >= 2 && blpops <= 4, `${blpops} BLPOPs in 2.5 s`);
      assert.ok(scripts <= 4, `${scripts} script calls in 2.5 s`);
    });

    await t.step("maxWaitMs bounds a wait on empty queues", async () => {
      const started = performance.now();
      await queue.waitForJobs(queues, 300);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 295 && elapsed < 700, `waited ${elapsed.toFixed(0)} ms`);
    });

    await t.step("close requeues jobs a wait reserved ahead, untouched", async () => {
      const { queue: closing } = await openQueue(server);
      assert.deepEqual(await closing.reserve(["default"], 5), []);
      const waiting = closing.waitForJobs(["default"], 30_000);
      await untilBlocked(raw, 1);
      await producer.push("default", job(4));
      await waiting;
      const [stored] = await raw.zrange("queues:default:reserved", 0, -1);
      assert.equal(JSON.parse(stored!).attempts, 1, "reserved ahead by the wait");
      await closing.close();
      const [back] = await raw.lrange("queues:default", 0, -1);
      assert.equal(JSON.parse(back!).attempts, 0, "back in the list as pushed");
      assert.equal(await raw.zcard("queues:default:reserved"), 0);
      const [next] = await queue.reserve(["default"], 5);
      assert.equal(next!.attempts, 1);
      await queue.ack(next!);
    });

    await t.step("after close, no timer or socket keeps the process alive", async () => {
      const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-close-" });
      try {
        const run = await runFixture("close_exits.ts", [
          String(server.port),
          `${dir}/database.sqlite`,
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout.trim(), "closed");
        await until(
          () => raw.exists("laravel_database_queues:default:reserved"),
          (n) => n === 0,
          "the ack",
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    // A woken slice leaves its timers' clean-up for the next slice or close; after close there is
    // no next slice (it once kept the process alive for the whole slice + 1.25 s).
    await t.step(
      "close during a wait lets the process exit at once, not after the slice",
      async () => {
        const run = await runFixture("close_during_wait.ts", [String(server.port)]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout.trim(), "closed");
        assert.ok(
          run.ms < 10_000,
          `the process exited ${run.ms.toFixed(0)} ms after start (slice 20 s)`,
        );
      },
    );
  } finally {
    await queue.close();
    await producer.close();
    await server.stop();
  }
});

/** Runs a fixture of redis_fixtures/ in its own Deno process (killed after 30 s). */
async function runFixture(name: string, args: string[]) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`./redis_fixtures/${name}`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const output = await child.output();
  clearTimeout(killer);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
    ms: performance.now() - started,
  };
}
