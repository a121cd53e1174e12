/**
 * The lease keeper and its real supervisor Worker, with a fake extender
 * (tests/fixtures/lease/fake_extender.ts) so rounds take milliseconds:
 * extensions go on while the main thread is blocked for less than the
 * liveness limit, pause past it (and `lease:paused` says so once it wakes),
 * and a supervisor that crashes is started again with every reservation
 * still held.
 */
import assert from "node:assert/strict";
import type { LeaseSupport, ReservedJob } from "../src/drivers/driver.ts";
import { EventBus, type KQueueEvents } from "../src/events.ts";
import { DROP_FLUSH_MS, LeaseKeeper } from "../src/runtime/lease_keeper.ts";

const EXTENDER = new URL("./fixtures/lease/fake_extender.ts", import.meta.url).href;

/** A LeaseSupport that records, per job, the times the supervisor extended it. */
function fakeSupport(config: Record<string, unknown> = {}) {
  const extendedAt = new Map<ReservedJob, number[]>();
  const support: LeaseSupport = {
    retryAfter: 90,
    useLease: () => {},
    extender: { moduleUrl: EXTENDER, config },
    identityOf: (job) => job.id,
    extended: (job, value) => extendedAt.set(job, [...(extendedAt.get(job) ?? []), value]),
  };
  return { support, extendedAt };
}

const job = (id: string): ReservedJob => ({
  id,
  queue: "default",
  rawPayload: "{}",
  attempts: 1,
  reservedAt: 0,
});

function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The longest gap between consecutive extensions within [from, to]. */
function longestGap(times: readonly number[], from: number, to: number): number {
  const inside = [from, ...times.filter((t) => t > from && t < to), to];
  let gap = 0;
  for (let i = 1; i < inside.length; i++) gap = Math.max(gap, inside[i]! - inside[i - 1]!);
  return gap;
}

Deno.test("lease keeper: extensions go on through a short block, pause past the liveness limit, resume after", async () => {
  const { support, extendedAt } = fakeSupport();
  const events = new EventBus();
  const paused: KQueueEvents["lease:paused"][] = [];
  events.on("lease:paused", (event) => paused.push(event));
  const keeper = await LeaseKeeper.start(
    support,
    { leaseSeconds: 1, renewMs: 40, livenessMs: 1000 },
    events,
  );
  try {
    assert.ok(keeper.startMs > 0);
    const held = job("1");
    keeper.hold([held]);
    await until(() => (extendedAt.get(held)?.length ?? 0) >= 3, "the first extensions");

    const shortFrom = Date.now();
    block(500); // under the limit: the supervisor keeps extending meanwhile
    const shortTo = Date.now();
    await until(() => extendedAt.get(held)!.some((t) => t > shortTo), "an extension after it");
    const shortGap = longestGap(extendedAt.get(held)!, shortFrom, shortTo);
    assert.ok(shortGap < 350, `extended during a 500 ms block (longest gap ${shortGap} ms)`);
    assert.equal(paused.length, 0, "no pause under the limit");

    const longFrom = Date.now();
    block(2500); // past the 1 s limit: extension pauses until the main thread answers
    const longTo = Date.now();
    await until(() => extendedAt.get(held)!.some((t) => t > longTo), "extensions resuming");
    const longGap = longestGap(extendedAt.get(held)!, longFrom, longTo);
    assert.ok(longGap >= 1200, `paused during a 2500 ms block (longest gap ${longGap} ms)`);
    await until(() => paused.length === 1, "lease:paused");
    assert.ok(paused[0]!.silentMs >= 2300, `silent ${paused[0]!.silentMs} ms`);
    assert.equal(paused[0]!.livenessLimitMs, 1000);

    keeper.drop(held);
    // A drop reaches the supervisor within DROP_FLUSH_MS (or with the next hold).
    await new Promise((resolve) => setTimeout(resolve, DROP_FLUSH_MS + 50));
    const count = extendedAt.get(held)!.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(extendedAt.get(held)!.length, count, "a dropped reservation is not extended");
  } finally {
    await keeper.stop();
  }
});

Deno.test("lease keeper: a supervisor that crashes is started again and given every reservation still held", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-keeper-" });
  const { support, extendedAt } = fakeSupport({ crashOnce: `${dir}/crashed` });
  const events = new EventBus();
  const errors: string[] = [];
  events.on("store:error", (event) => errors.push(event.error.message));
  const keeper = await LeaseKeeper.start(
    support,
    { leaseSeconds: 1, renewMs: 40, livenessMs: 400 },
    events,
  );
  try {
    const held = [job("1"), job("2")];
    keeper.hold(held);
    await until(() => errors.length > 0, "the crash report");
    assert.match(
      errors[0]!,
      /the lease supervisor crashed .*the fake extender crashed.*starting it again/,
    );
    await until(
      () => held.every((j) => (extendedAt.get(j)?.length ?? 0) >= 2),
      "extensions by the restarted supervisor",
    );
    assert.equal(keeper.held, 2);
  } finally {
    await keeper.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lease keeper: a reservation held right before the main thread blocks is extended during the block", async () => {
  const { support, extendedAt } = fakeSupport();
  const keeper = await LeaseKeeper.start(
    support,
    { leaseSeconds: 1, renewMs: 40, livenessMs: 2000 },
    new EventBus(),
  );
  try {
    const held = job("7");
    keeper.hold([held]);
    const from = Date.now();
    block(600); // no turn of the loop: the hold is read from the mailbox by the supervisor alone
    const to = Date.now();
    // The reports of the rounds during the block arrive after it, before a later round's.
    await until(
      () => (extendedAt.get(held) ?? []).some((at) => at > to),
      "an extension after the block",
    );
    const during = (extendedAt.get(held) ?? []).filter((at) => at >= from && at <= to);
    assert.ok(during.length >= 5, `extended ${during.length} times during a 600 ms block`);
  } finally {
    await keeper.stop();
  }
});

Deno.test("lease keeper: an identity too large for the mailbox goes by message, and so does its drop", async () => {
  const { support, extendedAt } = fakeSupport();
  const extensions = (j: ReservedJob) => extendedAt.get(j)?.length ?? 0;
  const keeper = await LeaseKeeper.start(
    support,
    { leaseSeconds: 1, renewMs: 30, livenessMs: 2000 },
    new EventBus(),
  );
  try {
    const large = job("L".repeat(400 * 1024)); // over a quarter of the 1 MiB ring
    const small = job("s");
    keeper.hold([large, small]);
    await until(() => extensions(large) >= 2, "the large one extended");
    await until(() => extensions(small) >= 2, "the small one extended");
    keeper.drop(large);
    keeper.drop(small);
    // An absence cannot be awaited: past the message drops' flush (100 ms) and a few rounds,
    // nothing more may come.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const after = { large: extensions(large), small: extensions(small) };
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.deepEqual(
      { large: extensions(large), small: extensions(small) },
      after,
      "no extension after the drops",
    );
    assert.equal(keeper.held, 0);
  } finally {
    await keeper.stop();
  }
});
