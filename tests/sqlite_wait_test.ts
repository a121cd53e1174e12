/**
 * waitForJobs: wakes on another connection's commit (PRAGMA data_version),
 * on this connection's own writes, when a delay comes due or a reservation
 * expires, at maxWaitMs, on abort and on close; never keeps a process alive.
 */
import assert from "node:assert/strict";
import { FixtureProcess, tempQueue } from "./sqlite_fixtures/helpers.ts";

/** Runs `wait` and returns how long it took. Milliseconds. */
async function timed(wait: Promise<void>): Promise<number> {
  const started = performance.now();
  await wait;
  return performance.now() - started;
}

Deno.test("wait: another connection's push wakes it (data_version), well before maxWaitMs", async () => {
  const t = await tempQueue({ pollIntervalMs: 10 });
  try {
    const producer = await t.another();
    assert.deepEqual(await t.queue.reserve(["default"], 1), []);
    const waiting = t.queue.waitForJobs(["default"], 10_000); // reads its baseline right away
    const pushedAt = performance.now();
    await producer.push("default", "job");
    await waiting;
    assert.ok(performance.now() - pushedAt < 2_000);
    assert.equal((await t.queue.reserve(["default"], 1)).length, 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("wait: a commit between the last reserve and the wait is not missed", async () => {
  const t = await tempQueue();
  try {
    const producer = await t.another();
    assert.deepEqual(await t.queue.reserve(["default"], 1), []);
    await producer.push("default", "job");
    assert.ok(await timed(t.queue.waitForJobs(["default"], 10_000)) < 1_000);
  } finally {
    await t.cleanup();
  }
});

Deno.test("wait: this connection's own push wakes it (data_version does not change for it)", async () => {
  const t = await tempQueue({ pollIntervalMs: 5_000 });
  try {
    assert.deepEqual(await t.queue.reserve(["default"], 1), []);
    const waiting = t.queue.waitForJobs(["default"], 10_000);
    await t.queue.push("default", "job");
    assert.ok(await timed(waiting) < 1_000);
  } finally {
    await t.cleanup();
  }
});

Deno.test("wait: wakes when a delayed job comes due, with no commit to notice", async () => {
  const t = await tempQueue();
  try {
    t.clock.at(5000, 850);
    await t.queue.push("default", "soon", { delay: 0.1 }); // available_at 5001: due in 150 ms
    assert.deepEqual(await t.queue.reserve(["default"], 1), []);
    const elapsed = await timed(t.queue.waitForJobs(["default"], 10_000));
    assert.ok(elapsed >= 100 && elapsed < 2_000, `woke after ${elapsed} ms`);
  } finally {
    await t.cleanup();
  }
});

Deno.test("wait: wakes when a reservation expires (retry_after)", async () => {
  const t = await tempQueue({ retryAfter: 2 });
  try {
    t.clock.at(7000);
    await t.queue.push("default", "crashes");
    await t.queue.reserve(["default"], 1);
    t.clock.at(7001, 800); // expires at 7002: in 200 ms
    const elapsed = await timed(t.queue.waitForJobs(["default"], 10_000));
    assert.ok(elapsed >= 150 && elapsed < 2_000, `woke after ${elapsed} ms`);
  } finally {
    await t.cleanup();
  }
});

Deno.test("wait: returns at once when a job is already due", async () => {
  const t = await tempQueue();
  try {
    await t.queue.push("default", "ready");
    await t.queue.reserve(["other"], 1);
    assert.ok(await timed(t.queue.waitForJobs(["default"], 10_000)) < 100);
  } finally {
    await t.cleanup();
  }
});

Deno.test("wait: maxWaitMs, abort and close end it", async () => {
  const t = await tempQueue();
  try {
    await t.queue.reserve(["default"], 1);
    const elapsed = await timed(t.queue.waitForJobs(["default"], 120));
    assert.ok(elapsed >= 100 && elapsed < 2_000, `maxWaitMs: ${elapsed} ms`);

    const controller = new AbortController();
    const aborted = t.queue.waitForJobs(["default"], 60_000, controller.signal);
    controller.abort();
    assert.ok(await timed(aborted) < 100);

    const closing = t.queue.waitForJobs(["default"], 60_000);
    await t.queue.close();
    assert.ok(await timed(closing) < 100);
  } finally {
    await t.cleanup();
  }
});

Deno.test("close: no timer keeps the process alive (pending wait and ack included)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-close-" });
  try {
    const child = new FixtureProcess("close_exits.ts", [`${dir}/database.sqlite`]);
    assert.equal(await child.nextLine(), "closed");
    const started = performance.now();
    const status = await child.finished();
    assert.equal(status.code, 0, await child.stderr);
    assert.ok(performance.now() - started < 5_000, "exited by itself");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
