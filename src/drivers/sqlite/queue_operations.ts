/**
 * The bodies of the queue's transactions: synchronous, SQL only, no side
 * effects outside the database (a busy retry may run them again).
 */
import type { ReservedJob } from "../driver.ts";
import type { AckBatch, Reservation } from "./ack_buffer.ts";
import { payloadText } from "./payload_text.ts";
import type { DeletedRow, QueueStatements, ReservedRow } from "./queue_statements.ts";
import { availableAtSeconds, failedAtText, unixSeconds } from "./time.ts";

/** Laravel's push: attempts 0, due at `nowMs + delaySeconds`. Returns the new ids. */
export function insertJobs(
  statements: QueueStatements,
  queue: string,
  payloads: readonly string[],
  nowMs: number,
  delaySeconds: number,
): string[] {
  const row = {
    queue,
    attempts: 0,
    availableAt: availableAtSeconds(nowMs, delaySeconds),
    createdAt: unixSeconds(nowMs),
  };
  return payloads.map((payload) =>
    String(statements.insertJob.run({ ...row, payload }).lastInsertRowid)
  );
}

/**
 * Claims up to `limit` rows, queue by queue in priority order, each queue in
 * id order. Attempts are counted here, as Laravel's pop does. A reservation
 * older than `reservationSeconds` (retry_after, or the lease) is taken over.
 */
export function claimJobs(
  statements: QueueStatements,
  queues: readonly string[],
  limit: number,
  nowMs: number,
  reservationSeconds: number,
): ReservedJob[] {
  const now = unixSeconds(nowMs);
  const expiredAt = now - reservationSeconds;
  const jobs: ReservedJob[] = [];
  for (const queue of queues) {
    const remaining = limit - jobs.length;
    if (remaining === 0) break;
    const rows = statements.reserveFromQueue.all({
      queue,
      now,
      expiredAt,
      limit: remaining,
    }) as unknown as ReservedRow[];
    rows.sort((a, b) => a.id - b.id);
    for (const row of rows) {
      jobs.push({
        id: String(row.id),
        queue: row.queue,
        rawPayload: payloadText(row),
        attempts: row.attempts,
        reservedAt: row.reserved_at,
      });
    }
  }
  return jobs;
}

/** Deletes the batch's rows whose reservation still holds; returns the ids deleted. */
export function deleteAcked(statements: QueueStatements, batch: AckBatch): ReadonlySet<number> {
  if (batch.size === 0) return new Set();
  const rows = statements.deleteReservations.all({ reservations: batch.toJson() });
  return new Set(rows.map((row) => Number(row.id)));
}

/** Laravel's release: delete, then insert a new row. False (nothing changed) when lost. */
export function releaseJob(
  statements: QueueStatements,
  [id, reservedAt, attempts]: Reservation,
  nowMs: number,
  delaySeconds: number,
): boolean {
  const row = statements.deleteReservation.get({ id, reservedAt, attempts }) as
    | DeletedRow
    | undefined;
  if (row === undefined) return false;
  statements.insertJob.run({
    queue: row.queue,
    payload: payloadText(row),
    attempts: row.attempts,
    availableAt: availableAtSeconds(nowMs, delaySeconds),
    createdAt: unixSeconds(nowMs),
  });
  return true;
}

/** Undoes the reservation on the same row. False when lost. */
export function requeueJob(
  statements: QueueStatements,
  [id, reservedAt, attempts]: Reservation,
  availableAt: number | null = null,
): boolean {
  return statements.restoreReservation.run({ id, reservedAt, attempts, availableAt }).changes === 1;
}

export interface FailedJobInput {
  readonly uuid: string;
  readonly exception: string;
  readonly payload?: string;
}

/** Deletes the job and writes (or updates) its failed_jobs row. False, writing nothing, when lost. */
export function failJob(
  statements: QueueStatements,
  [id, reservedAt, attempts]: Reservation,
  failure: FailedJobInput,
  connectionName: string,
  nowMs: number,
): boolean {
  const row = statements.deleteReservation.get({ id, reservedAt, attempts }) as
    | DeletedRow
    | undefined;
  if (row === undefined) return false;
  statements.upsertFailedJob.run({
    uuid: failure.uuid,
    connection: connectionName,
    queue: row.queue,
    payload: failure.payload ?? payloadText(row),
    exception: failure.exception,
    failedAt: failedAtText(nowMs),
  });
  return true;
}

export function countJobs(statements: QueueStatements, queue: string, nowMs: number) {
  const row = statements.countByState.get({ queue, now: unixSeconds(nowMs) });
  return {
    ready: Number(row?.ready ?? 0),
    delayed: Number(row?.delayed ?? 0),
    reserved: Number(row?.reserved ?? 0),
  };
}

/**
 * Milliseconds until a job of `queues` becomes available without any
 * commit (a delay coming due, a reservation expiring); <= 0: now; undefined: never.
 */
export function msUntilDue(
  statements: QueueStatements,
  queues: readonly string[],
  nowMs: number,
  reservationSeconds: number,
): number | undefined {
  let dueAtSeconds = Infinity;
  for (const queue of queues) {
    const row = statements.nextDueTimes.get({ queue });
    if (typeof row?.nextAvailableAt === "number") {
      dueAtSeconds = Math.min(dueAtSeconds, row.nextAvailableAt);
    }
    if (typeof row?.oldestReservedAt === "number") {
      // Expired once unixSeconds(now) >= reserved_at + reservationSeconds.
      dueAtSeconds = Math.min(dueAtSeconds, Math.ceil(row.oldestReservedAt + reservationSeconds));
    }
  }
  return dueAtSeconds === Infinity ? undefined : dueAtSeconds * 1000 - nowMs;
}

export function readDataVersion(statements: QueueStatements): number {
  return Number(statements.dataVersion.get()?.data_version);
}
