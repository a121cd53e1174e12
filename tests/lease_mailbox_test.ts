/**
 * The lease mailbox: identities as bytes, the shared-memory ring (order,
 * wrap-around, full), the outbox's waiting queue, and, with the real
 * supervisor Worker, a reservation held right before the main thread blocks
 * being extended during the block.
 */
import assert from "node:assert/strict";
import type { LeaseSupport, ReservedJob } from "../src/drivers/driver.ts";
import { EventBus } from "../src/events.ts";
import { decodeIdentity, encodeIdentity } from "../src/runtime/lease_identity.ts";
import { LeaseKeeper } from "../src/runtime/lease_keeper.ts";
import { DROP, HOLD, LeaseMailbox, type RecordKind } from "../src/runtime/lease_mailbox.ts";
import { LeaseOutbox } from "../src/runtime/lease_outbox.ts";

const EXTENDER = new URL("./fixtures/lease/fake_extender.ts", import.meta.url).href;

function drainAll(mailbox: LeaseMailbox): Array<[RecordKind, number, number[]]> {
  const out: Array<[RecordKind, number, number[]]> = [];
  mailbox.drain((kind, key, body) => out.push([kind, key, [...body]]));
  return out;
}

Deno.test("lease identity: the stores' identities survive the bytes; other values are refused", () => {
  const member = new Uint8Array([0x7b, 0xff, 0x00, 0xc3, 0x28, 0x7d]); // not UTF-8
  const identities: unknown[] = [
    [42, 1_796_334_000, 3],
    ["laravel_database_queues:{default}:reserved", member],
    ["é∑😀", [1.5, -0, Number.MAX_SAFE_INTEGER, []]],
    "1",
  ];
  for (const identity of identities) {
    assert.deepEqual(decodeIdentity(encodeIdentity(identity)!), identity);
  }
  for (const bad of [{ id: 1 }, undefined, null, 1n, [1, { a: 1 }], true]) {
    assert.equal(encodeIdentity(bad), undefined, `refused: ${String(bad)}`);
  }
  assert.throws(() => decodeIdentity(new Uint8Array([9])), /unknown tag 9/);
  assert.throws(() => decodeIdentity(new Uint8Array([2, 0, 0, 0, 5, 65])), /cut short/);
});

Deno.test("lease mailbox: records come out in order across the ring's end; a full ring refuses", () => {
  const mailbox = LeaseMailbox.create(64);
  const body = (n: number) => new Uint8Array(n).fill(n);
  // 13-byte headers: three records of 13 + 7 bytes = 60 of 63 usable.
  assert.ok(mailbox.write(HOLD, 1, body(7)));
  assert.ok(mailbox.write(HOLD, 2, body(7)));
  assert.ok(mailbox.write(DROP, 1));
  assert.equal(mailbox.write(HOLD, 3, body(7)), false, "no room: nothing written");
  assert.deepEqual(drainAll(mailbox).map(([kind, key]) => [kind, key]), [
    [HOLD, 1],
    [HOLD, 2],
    [DROP, 1],
  ]);
  assert.equal(mailbox.used, 0);
  // These wrap around the end of the ring.
  for (let round = 0; round < 20; round++) {
    assert.ok(mailbox.write(HOLD, round, body(round % 9)));
    assert.ok(mailbox.write(DROP, round + 0.5));
    assert.deepEqual(drainAll(mailbox), [
      [HOLD, round, [...body(round % 9)]],
      [DROP, round + 0.5, []],
    ]);
  }
});

Deno.test("lease outbox: what does not fit waits in order, one drain request, let in once drained", () => {
  let asks = 0;
  const outbox = new LeaseOutbox(() => asks++, 128);
  const mailbox = outbox.mailbox;
  for (let key = 1; key <= 6; key++) assert.ok(outbox.hold(key, [key, 2, 3]));
  outbox.drop(1);
  assert.equal(asks, 1, "asked once, though several records wait");
  assert.equal(outbox.hold(99, "x".repeat(40)), false, "over a quarter of the ring: by message");
  assert.equal(outbox.hold(98, { not: "encodable" }), false);
  const seen: Array<[RecordKind, number]> = [];
  const read = () => mailbox.drain((kind, key) => seen.push([kind, key]));
  for (let turn = 0; seen.length < 7; turn++) {
    assert.ok(turn < 20, "the waiting records never got in");
    read();
    outbox.drained();
  }
  assert.deepEqual(seen, [
    [HOLD, 1],
    [HOLD, 2],
    [HOLD, 3],
    [HOLD, 4],
    [HOLD, 5],
    [HOLD, 6],
    [DROP, 1],
  ]);
  assert.ok(asks >= 2, "asked again while records still waited");
});

Deno.test("lease keeper: a reservation held right before the main thread blocks is extended during the block", async () => {
  const extendedAt: number[] = [];
  const support: LeaseSupport = {
    retryAfter: 90,
    useLease: () => {},
    extender: { moduleUrl: EXTENDER, config: {} },
    identityOf: (job) => job.id,
    extended: (_, value) => extendedAt.push(value),
  };
  const keeper = await LeaseKeeper.start(
    support,
    { leaseSeconds: 1, renewMs: 40, livenessMs: 2000 },
    new EventBus(),
  );
  try {
    const job: ReservedJob = {
      id: "7",
      queue: "default",
      rawPayload: "{}",
      attempts: 1,
      reservedAt: 0,
    };
    keeper.hold([job]);
    const from = Date.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600); // no turn of the loop
    const to = Date.now();
    // The reports of the rounds during the block arrive after it, before a later round's.
    const deadline = Date.now() + 5000;
    while (!extendedAt.some((at) => at > to)) {
      if (Date.now() > deadline) throw new Error("no extension after the block");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const during = extendedAt.filter((at) => at >= from && at <= to);
    assert.ok(during.length >= 5, `extended ${during.length} times during a 600 ms block`);
  } finally {
    await keeper.stop();
  }
});

Deno.test("lease keeper: an identity too large for the mailbox goes by message, and so does its drop", async () => {
  const extended = new Map<string, number>();
  const support: LeaseSupport = {
    retryAfter: 90,
    useLease: () => {},
    extender: { moduleUrl: EXTENDER, config: {} },
    identityOf: (job) => job.id,
    extended: (job) => extended.set(job.id, (extended.get(job.id) ?? 0) + 1),
  };
  const keeper = await LeaseKeeper.start(
    support,
    { leaseSeconds: 1, renewMs: 30, livenessMs: 2000 },
    new EventBus(),
  );
  const job = (id: string): ReservedJob => ({
    id,
    queue: "default",
    rawPayload: "{}",
    attempts: 1,
    reservedAt: 0,
  });
  const until = async (condition: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  try {
    const large = job("L".repeat(400 * 1024)); // over a quarter of the 1 MiB ring
    const small = job("s");
    keeper.hold([large, small]);
    await until(() => (extended.get(large.id) ?? 0) >= 2, "the large one extended");
    await until(() => (extended.get(small.id) ?? 0) >= 2, "the small one extended");
    keeper.drop(large);
    keeper.drop(small);
    // An absence cannot be awaited: past the message drops' flush (100 ms) and a few rounds,
    // nothing more may come.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const after = { large: extended.get(large.id)!, small: extended.get(small.id)! };
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.deepEqual(
      { large: extended.get(large.id), small: extended.get(small.id) },
      after,
      "no extension after the drops",
    );
    assert.equal(keeper.held, 0);
  } finally {
    await keeper.stop();
  }
});
