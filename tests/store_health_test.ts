/** StoreHealth: what the daemon makes of each kind of reserve failure, on a clock the test moves. */
import assert from "node:assert/strict";
import { QueueUnusableError, StoreRefusedError } from "../src/errors.ts";
import { EventBus, type KQueueEvents } from "../src/events.ts";
import { StoreHealth } from "../src/runtime/store_health.ts";

function setUp(storeTimeoutMs = 10_000) {
  let now = 1_000_000;
  const events = new EventBus();
  const seen: string[] = [];
  const note = <K extends keyof KQueueEvents>(name: K, show: (e: KQueueEvents[K]) => string) =>
    events.on(name, (e) => seen.push(`${name} ${show(e)}`));
  note("store:error", (e) => `${e.error.message}${e.refused ? " (refused)" : ""}`);
  note("store:recovered", (e) => `${e.downMs} ms`);
  note("queue:set-aside", (e) => `${e.queue}: ${e.problem}`);
  note("queue:restored", (e) => `${e.queue} after ${e.setAsideMs} ms`);
  const health = new StoreHealth({
    queues: ["high", "default", "low"],
    events,
    clock: () => now,
    storeTimeoutMs,
    recheckMs: 1000,
  });
  const advance = (ms: number) => now += ms;
  return { health, seen, advance };
}

const wrongType = (queue: string, type = "string") =>
  new QueueUnusableError(
    queue,
    `Redis key queues:${queue} is a ${type}, not a list: delete or rename the key`,
  );

Deno.test("store health: a set-aside queue is left out until its next try, reported once, and again when it works", () => {
  const { health, seen, advance } = setUp();
  assert.deepEqual(health.failed(wrongType("high"), ["high", "default", "low"]), { retryInMs: 0 });
  assert.deepEqual(health.reservable(), ["default", "low"]);
  assert.deepEqual(health.served(), ["default", "low"]);
  assert.equal(health.msUntilRecheck(), 1000);
  health.succeeded(["default", "low"]);
  advance(1000);
  assert.deepEqual(health.reservable(), ["high", "default", "low"], "due for a try");
  health.failed(wrongType("high"), ["high", "default", "low"]);
  health.failed(wrongType("high", "hash"), ["high", "default", "low"]);
  advance(1000);
  health.succeeded(["high", "default", "low"]);
  assert.deepEqual(health.reservable(), ["high", "default", "low"]);
  assert.equal(health.msUntilRecheck(), undefined);
  assert.deepEqual(seen, [
    "queue:set-aside high: Redis key queues:high is a string, not a list: delete or rename the key",
    "queue:set-aside high: Redis key queues:high is a hash, not a list: delete or rename the key",
    "queue:restored high after 2000 ms",
  ]);
});

Deno.test("store health: a refusal is reported once per reply and never loses the store; an outage does", () => {
  const { health, seen, advance } = setUp(10_000);
  const refused = new StoreRefusedError("Cannot reserve jobs as Redis replied: NOPERM evalsha");
  const delays = [];
  for (let i = 0; i < 8; i++) {
    const verdict = health.failed(refused, ["default"]);
    assert.equal(verdict.storeLost, undefined);
    delays.push(verdict.retryInMs);
    advance(60_000);
  }
  assert.deepEqual(delays, [50, 100, 200, 400, 800, 1600, 3200, 5000], "backoff, capped");
  health.failed(new StoreRefusedError("Cannot reserve jobs as Redis replied: OOM"), ["default"]);
  const down = new Error("Cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED)");
  assert.equal(health.failed(down, ["default"]).storeLost, undefined);
  health.failed(refused, ["default"]); // after an outage, the same refusal is news again
  health.failed(down, ["default"]);
  advance(10_001);
  assert.equal(
    health.failed(down, ["default"]).storeLost,
    "unreachable for over 10 s (--store-timeout): Cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED)",
  );
  health.succeeded(["default"]);
  assert.deepEqual(seen, [
    "store:error Cannot reserve jobs as Redis replied: NOPERM evalsha (refused)",
    "store:error Cannot reserve jobs as Redis replied: OOM (refused)",
    "store:error Cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED)",
    "store:error Cannot reserve jobs as Redis replied: NOPERM evalsha (refused)",
    "store:error Cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED)",
    "store:error Cannot reach Redis at 127.0.0.1:1 (ECONNREFUSED)",
    `store:recovered ${8 * 60_000 + 10_001} ms`,
  ]);
});

Deno.test("store health: an unusable queue the call did not ask for is a refusal, not a set-aside", () => {
  const { health, seen } = setUp();
  assert.equal(health.failed(wrongType("elsewhere"), ["default"]).retryInMs, 50);
  assert.deepEqual(health.reservable(), ["high", "default", "low"]);
  assert.deepEqual(seen, [
    "store:error Cannot reserve jobs from queue 'elsewhere' as Redis key queues:elsewhere is a string, not a list: delete or rename the key (refused)",
  ]);
});
