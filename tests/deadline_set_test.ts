/** DeadlineSet: many deadlines on one timer, fired in time, cancelled for free. */
import assert from "node:assert/strict";
import { DeadlineSet } from "../src/executor/deadline_set.ts";

function expiry(): { at: Promise<number>; fire: () => void } {
  const { promise, resolve } = Promise.withResolvers<number>();
  return { at: promise, fire: () => resolve(performance.now()) };
}

Deno.test("deadline set: each deadline fires at its time, earliest first; cancelled ones never", async () => {
  const deadlines = new DeadlineSet();
  try {
    const start = performance.now();
    const late = expiry();
    const early = expiry();
    const order: string[] = [];
    deadlines.add(120, () => {
      order.push("late");
      late.fire();
    });
    // Earlier than the armed timer: re-armed for it.
    deadlines.add(40, () => {
      order.push("early");
      early.fire();
    });
    const cancel = deadlines.add(60, () => order.push("cancelled"));
    cancel();
    assert.equal(deadlines.size, 2);
    const earlyAt = await early.at;
    const lateAt = await late.at;
    assert.ok(earlyAt - start >= 39, `early fired after ${earlyAt - start} ms`);
    assert.ok(lateAt - start >= 119, `late fired after ${lateAt - start} ms`);
    assert.deepEqual(order, ["early", "late"]);
    assert.equal(deadlines.size, 0);
  } finally {
    deadlines.clear();
  }
});

Deno.test("deadline set: later deadlines than the armed one reuse its timer", async () => {
  const deadlines = new DeadlineSet();
  const timers: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    timers.push(ms ?? 0);
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  try {
    const fired = expiry();
    const first = deadlines.add(30, fired.fire);
    for (let i = 0; i < 100; i++) deadlines.add(10_000 + i, () => {})(); // jobs that finish
    assert.equal(timers.length, 1, "one timer for 101 deadlines");
    first(); // cancelled too: the timer fires, finds nothing due, re-arms for nothing
    const second = expiry();
    deadlines.add(50, second.fire);
    await second.at;
    assert.equal(deadlines.size, 0);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    deadlines.clear();
  }
});

Deno.test("deadline set: clear drops every deadline and leaves no timer behind", async () => {
  const deadlines = new DeadlineSet();
  let fired = false;
  deadlines.add(20, () => fired = true);
  deadlines.clear();
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(fired, false);
  assert.equal(deadlines.size, 0);
});
