/**
 * The queue's Redis calls, one each: push, counts, and ending a reservation.
 * The settles are idempotent (see scripts/settle.ts), so the queue replays
 * them after a reconnect.
 */
import type { QueueCounts } from "../driver.ts";
import type { Redis } from "./ioredis.ts";
import { kqueueKey, type QueueKeys } from "./keys.ts";
import type { Reservation } from "./reservation.ts";
import { COUNTS } from "./scripts/inspect.ts";
import { PUSH, PUSH_ONE } from "./scripts/push.ts";
import { findWrongType } from "./reservation.ts";
import { StoreRefusedError } from "../../errors.ts";
import { FAIL, RELEASE, REQUEUE, REQUEUE_LATER } from "./scripts/settle.ts";

/** How long a fail call's token lives (covers replays after a reconnect). Milliseconds. */
const FAIL_TOKEN_TTL_MS = 10 * 60_000;

/**
 * Payloads (with their Redis keys) onto a queue: Laravel's push (list +
 * notify) when `dueSecond` is undefined, else Laravel's `later` (a plain ZADD
 * to `:delayed`, no notify).
 */
export async function pushPayloads(
  client: Redis,
  keys: QueueKeys,
  texts: readonly string[],
  dueSecond: number | undefined,
): Promise<void> {
  try {
    if (dueSecond === undefined && texts.length === 1) {
      await PUSH_ONE.run(client, [keys.list, keys.notify], texts);
    } else if (dueSecond === undefined) await PUSH.run(client, [keys.list, keys.notify], texts);
    else await client.zadd(keys.delayed, ...texts.flatMap((text) => [dueSecond, text]));
  } catch (error) {
    // Laravel's push script checks no types: name the key that is wrong, as a reserve does.
    if (!(error instanceof Error && /\bWRONGTYPE\b/.test(error.message))) throw error;
    const wrong = await findWrongType(client, keys);
    if (!wrong) throw error;
    throw new StoreRefusedError(`Cannot push jobs to queue '${keys.queue}' as ${wrong.problem}`, {
      cause: error,
    });
  }
}

/** One atomic snapshot of a queue's sizes. */
export async function countJobs(client: Redis, keys: QueueKeys): Promise<QueueCounts> {
  const reply = await COUNTS.run(client, [keys.list, keys.delayed, keys.reserved], []) as number[];
  return { ready: reply[0]!, delayed: reply[1]!, reserved: reply[2]! };
}

/** The reserved copy to `:delayed` at `dueSecond`. True when the reservation was still ours. */
export async function releaseReservation(
  client: Redis,
  reservation: Reservation,
  dueSecond: number,
): Promise<boolean> {
  const { delayed, reserved } = reservation.keys;
  return await RELEASE.run(client, [delayed, reserved], [reservation.member, dueSecond]) === 1;
}

/**
 * The list copy back to the head of the list, with a notify; or, with
 * `dueSecond`, to `:delayed` until then. True when it was still ours.
 */
export async function requeueReservation(
  client: Redis,
  reservation: Reservation,
  dueSecond?: number,
): Promise<boolean> {
  const { reserved, list, notify, delayed } = reservation.keys;
  const args = [reservation.member, reservation.original];
  if (dueSecond !== undefined) {
    return await REQUEUE_LATER.run(client, [reserved, delayed], [...args, dueSecond]) === 1;
  }
  return await REQUEUE.run(client, [reserved, list, notify], args) === 1;
}

/**
 * A fail call's delete: returns a function to run (and re-run after a
 * reconnect) that resolves true when this call removed the reservation.
 */
export function failDeletion(reservation: Reservation): (client: Redis) => Promise<boolean> {
  const token = kqueueKey(reservation.keys, `failing:${crypto.randomUUID()}`);
  return async (client) =>
    await FAIL.run(
      client,
      [reservation.keys.reserved, token],
      [reservation.member, FAIL_TOKEN_TTL_MS],
    ) === 1;
}

/** Puts a reservation back with its score (its failed_jobs row could not be written). */
export async function restoreReservation(client: Redis, reservation: Reservation): Promise<void> {
  await client.zadd(reservation.keys.reserved, reservation.reserveUntil, reservation.member);
}
