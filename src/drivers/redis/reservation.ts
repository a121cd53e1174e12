/**
 * A reserved Redis job's private handle, and decoding the reserve script's
 * reply into `ReservedJob`s.
 */
import type { Buffer } from "node:buffer";
import { QueueUnusableError } from "../../errors.ts";
import type { ReservedJob } from "../driver.ts";
import type { Redis } from "./ioredis.ts";
import type { BufferCaller } from "./lua_script.ts";
import type { QueueKeys } from "./keys.ts";
import { RESERVE, RESERVE_ENTRIES_PER_JOB } from "./scripts/reserve.ts";

/** `ReservedJob.handle` of a job this driver reserved. */
export class Reservation {
  constructor(
    readonly keys: QueueKeys,
    /** The exact `:reserved` member (the byte-exact ZREM needs these bytes). */
    readonly member: Buffer,
    /** The exact list copy (what requeue restores). */
    readonly original: Buffer,
    /** The member's score: unix seconds the lease expires (moved on by lease extensions). */
    public reserveUntil: number,
    /** The reserve script could not count attempts on it (moved unchanged). */
    readonly malformed: boolean,
  ) {}
}

export interface DecodedReservation {
  readonly job: ReservedJob;
  readonly reservation: Reservation;
}

export interface ReserveCall {
  readonly queues: readonly QueueKeys[];
  readonly limit: number;
  /** Unix seconds. */
  readonly now: number;
  /** How long the reservations last: retry_after, or the lease. Seconds. */
  readonly reservationSeconds: number;
  readonly migrateBatchSize: number;
}

/**
 * One reserve script call (see scripts/reserve.ts), decoded. A key of the
 * wrong type rejects with a QueueUnusableError naming its queue (the script
 * refused before moving anything).
 */
export async function runReserve(
  client: BufferCaller,
  call: ReserveCall,
): Promise<ReserveResult> {
  const reserveUntil = call.now + call.reservationSeconds;
  let reply: unknown;
  try {
    reply = await RESERVE.runBuffer(
      client,
      call.queues.flatMap((k) => [k.list, k.delayed, k.reserved, k.notify]),
      [call.now, reserveUntil, call.limit, call.migrateBatchSize],
    );
  } catch (error) {
    throw wrongTypeError(error, call.queues) ?? error;
  }
  return decodeReserveReply(reply, call.queues, call.now, reserveUntil);
}

export const KEY_TYPES: ReadonlyArray<[keyof QueueKeys, string]> = [
  ["list", "list"],
  ["delayed", "zset"],
  ["reserved", "zset"],
  ["notify", "list"],
];

/**
 * The reserve script's `WRONGTYPE <key> holds a <type>, not a <type>`, as
 * the queue that key belongs to; undefined for any other error. Keys are
 * matched whole (a key name may hold spaces).
 */
export function wrongTypeError(
  error: unknown,
  queues: readonly QueueKeys[],
): QueueUnusableError | undefined {
  const message = error instanceof Error ? error.message : "";
  if (!message.startsWith("WRONGTYPE ")) return undefined;
  for (const keys of queues) {
    for (const [field, wanted] of KEY_TYPES) {
      const head = `WRONGTYPE ${keys[field]} holds a `;
      if (!message.startsWith(head)) continue;
      const actual = message.slice(head.length).split(",", 1)[0];
      return new QueueUnusableError(
        keys.queue,
        `Redis key ${keys[field]} is a ${actual}, not a ${wanted}: delete or rename the key`,
      );
    }
  }
  return undefined;
}

/**
 * After a WRONGTYPE reply to a command on `keys` (a push, say: Laravel's push
 * script checks nothing first): the first of the queue's keys whose type is
 * wrong, as a QueueUnusableError naming key, type and fix; undefined when
 * they all look right (another error, or the key was fixed meanwhile).
 */
export async function findWrongType(
  client: Redis,
  keys: QueueKeys,
): Promise<QueueUnusableError | undefined> {
  for (const [field, wanted] of KEY_TYPES) {
    const actual = await client.type(keys[field]);
    if (actual !== "none" && actual !== wanted) {
      return new QueueUnusableError(
        keys.queue,
        `Redis key ${keys[field]} is a ${actual}, not a ${wanted}: delete or rename the key`,
      );
    }
  }
  return undefined;
}

export interface ReserveResult {
  readonly reserved: DecodedReservation[];
  /** The lowest `:delayed`/`:reserved` score after the call (unix seconds), if any. */
  readonly nextDue: number | undefined;
}

/**
 * The script returns, per job: queue index, list copy, reserved copy (nil
 * when malformed), id (nil when not a string), reserved attempts (nil when
 * malformed); then the next due score (nil when none).
 */
export function decodeReserveReply(
  reply: unknown,
  queues: readonly QueueKeys[],
  now: number,
  reserveUntil: number,
): ReserveResult {
  if (!Array.isArray(reply) || reply.length % RESERVE_ENTRIES_PER_JOB !== 1) {
    throw new Error(`Redis returned an unexpected reserve reply: ${String(reply).slice(0, 80)}`);
  }
  const out: DecodedReservation[] = [];
  const jobEntries = reply.length - 1;
  for (let i = 0; i < jobEntries; i += RESERVE_ENTRIES_PER_JOB) {
    const keys = queues[reply[i] as number]!;
    const original = reply[i + 1] as Buffer;
    const copy = reply[i + 2] as Buffer | null;
    const id = reply[i + 3] as Buffer | null;
    const attempts = reply[i + 4] as Buffer | null;
    const malformed = copy === null;
    const reservation = new Reservation(
      keys,
      copy ?? original,
      original,
      reserveUntil,
      malformed,
    );
    out.push({
      reservation,
      job: {
        id: id === null ? "" : id.toString("utf8"),
        queue: keys.queue,
        rawPayload: original.toString("utf8"),
        // A malformed member has no count of its own: this is its first known attempt.
        attempts: attempts === null ? 1 : asciiNumber(attempts),
        reservedAt: now,
        handle: reservation,
      },
    });
  }
  const nextDue = reply[jobEntries] as Buffer | null;
  return { reserved: out, nextDue: nextDue === null ? undefined : asciiNumber(nextDue) };
}

/**
 * A number Lua's tostring wrote (`12`, `1796341703.5`, `1e+15`). Plain digits are
 * read off the bytes (a Buffer decode cost ~15 µs of a cold wake-up); anything
 * else goes through Number().
 */
function asciiNumber(bytes: Buffer): number {
  if (bytes.length === 0 || bytes.length > 15) return Number(bytes.toString("latin1"));
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const digit = bytes[i]! - 0x30;
    if (digit < 0 || digit > 9) return Number(bytes.toString("latin1"));
    n = n * 10 + digit;
  }
  return n;
}

/** The handle of a job this driver reserved, or a TypeError naming the action. */
export function reservationOf(action: string, job: ReservedJob): Reservation {
  const handle = (job as { handle?: unknown } | null)?.handle;
  if (!(handle instanceof Reservation)) {
    throw new TypeError(
      `Cannot ${action} as 'job' must be a job reserved by a RedisQueue: its handle is ${
        handle === undefined ? "missing" : "foreign"
      }`,
    );
  }
  return handle;
}
