/**
 * The lease mailbox: identities as bytes, the shared-memory ring (order,
 * wrap-around, full) and the outbox's waiting queue (the keeper's use of them,
 * with the real supervisor Worker, is in lease_keeper_test.ts).
 */
import assert from "node:assert/strict";
import {
  decodeIdentity,
  encodeIdentity,
  IdentityEncoder,
  ownBytes,
} from "../src/runtime/lease_identity.ts";
import { DROP, HOLD, LeaseMailbox, type RecordKind } from "../src/runtime/lease_mailbox.ts";
import { LeaseOutbox } from "../src/runtime/lease_outbox.ts";

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

Deno.test("lease identity: a member that is a view into a socket buffer is copied alone for a message", () => {
  const socketChunk = new Uint8Array(64 * 1024).fill(7);
  const member = socketChunk.subarray(100, 110);
  member.set([1, 2, 3]);
  const [key, bytes] = ownBytes(["queues:default:reserved", member]) as [string, Uint8Array];
  assert.equal(key, "queues:default:reserved");
  assert.deepEqual([...bytes], [...member]);
  assert.equal(bytes.buffer.byteLength, 10, "only the member's bytes travel");
  member[0] = 9;
  assert.equal(bytes[0], 1, "a copy, not a view");
  // The ring gets the same bytes from the view itself.
  assert.deepEqual(decodeIdentity(encodeIdentity(["k", member])!), ["k", member.slice()]);
});

Deno.test("lease identity: one encoder keeps the last key's bytes, and a new key replaces them", () => {
  const encoder = new IdentityEncoder();
  const member = new Uint8Array([5, 6]);
  for (
    const key of [
      "queues:a:reserved",
      "queues:a:reserved",
      "queues:é:reserved",
      "",
      "queues:a:reserved",
    ]
  ) {
    assert.deepEqual(decodeIdentity(encoder.encode([key, member])!.slice()), [key, member]);
  }
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
