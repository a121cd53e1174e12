/**
 * Every SQL statement the SQLite queue runs, prepared once per connection.
 * Times are unix seconds. A reservation is identified by (id, reserved_at,
 * attempts): a worker that took the row over after `retry_after` changed at
 * least `attempts`, so guarded statements never touch its reservation.
 * `reserved_at` is matched as a lower bound (`reserved_at >= ours`): a lease
 * extension only ever moves it forward, and one committed by the supervisor
 * Worker a moment before the main thread heard of it must not make our own
 * ack look like a lost reservation.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { PAYLOAD_BYTES, type PayloadColumns } from "./payload_text.ts";

export interface QueueTables {
  readonly jobs: string;
  readonly failedJobs: string;
}

/** A row as `reserve` returns it. */
export interface ReservedRow extends PayloadColumns {
  readonly id: number;
  readonly queue: string;
  readonly attempts: number;
  readonly reserved_at: number;
}

/** A row `findUnclaimable` found: which time column is unusable, and its value as an SQL literal. */
export interface UnclaimableRow {
  readonly id: number;
  readonly column: "available_at" | "reserved_at";
  /** SQLite's `typeof()` of the value: null, text, blob, integer or real. */
  readonly type: string;
  /** `quote()` of the value (text and blobs cut to 40 characters, then `…`). */
  readonly shown: string;
}

/** What a guarded delete returns: the row as it was. */
export interface DeletedRow extends PayloadColumns {
  readonly queue: string;
  readonly attempts: number;
}

export interface QueueStatements {
  readonly insertJob: StatementSync;
  readonly reserveFromQueue: StatementSync;
  readonly deleteReservation: StatementSync;
  readonly deleteReservations: StatementSync;
  readonly restoreReservation: StatementSync;
  readonly upsertFailedJob: StatementSync;
  readonly countByState: StatementSync;
  readonly nextDueTimes: StatementSync;
  readonly findUnclaimable: StatementSync;
  readonly unclaimableWindowEnd: StatementSync;
  readonly reserveUnclaimable: StatementSync;
  readonly dataVersion: StatementSync;
}

/**
 * The last unix second worth waiting for: a time past it never comes due
 * (and node:sqlite throws rather than read a larger integer as a number).
 */
export const LAST_USABLE_TIME = Number.MAX_SAFE_INTEGER;

/**
 * True for a row the claim can never take: not reserved, with an
 * available_at that never compares as due (NULL, text, a blob, a number past
 * LAST_USABLE_TIME), or reserved, with such a reserved_at. The comparisons
 * are the claim's own (`<=` under the column's affinity), so a row the claim
 * could take never matches: a float time in the past, say, is claimed as Laravel claims it.
 */
const UNCLAIMABLE = `((reserved_at IS NULL AND NOT COALESCE(available_at <= ${LAST_USABLE_TIME}, 0))
  OR NOT COALESCE(reserved_at <= ${LAST_USABLE_TIME}, 1))`;

/** `quote()` of a value for a message; text and blobs cut to 40 characters. */
function shownValue(column: string): string {
  return `CASE WHEN typeof(${column}) IN ('text', 'blob') AND length(${column}) > 40
    THEN quote(substr(${column}, 1, 40)) || '…' ELSE quote(${column}) END`;
}

export function prepareQueueStatements(db: DatabaseSync, tables: QueueTables): QueueStatements {
  const jobs = `"${tables.jobs}"`;
  const failed = `"${tables.failedJobs}"`;
  return {
    /**
     * Laravel's push (`DatabaseQueue::buildDatabaseRecord`); a release re-inserts through it.
     * Bindings: queue, payload, attempts (0 on push; the current count on release),
     *   availableAt, createdAt.
     * Returns: run() → lastInsertRowid = the new job id.
     */
    insertJob: db.prepare(
      `INSERT INTO ${jobs} (queue, attempts, reserved_at, available_at, created_at, payload)
       VALUES (:queue, :attempts, NULL, :availableAt, :createdAt, :payload)`,
    ),

    /**
     * Laravel's pop query, for up to :limit rows of one queue in id order:
     * rows that are due and unreserved, or whose reservation is older than
     * retry_after, or the lease when leases are on (:expiredAt = now - that;
     * a crashed worker's job comes back with its attempts counted again, as in Laravel).
     * Bindings: queue, now, expiredAt, limit.
     * Returns: the reserved rows (attempts already incremented), in no particular order.
     * Guarantees: run inside BEGIN IMMEDIATE, no other connection can claim the same rows.
     */
    reserveFromQueue: db.prepare(
      `UPDATE ${jobs} SET reserved_at = :now, attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM ${jobs}
         WHERE queue = :queue
           AND ((reserved_at IS NULL AND available_at <= :now) OR reserved_at <= :expiredAt)
         ORDER BY id LIMIT :limit)
       RETURNING id, queue, payload, ${PAYLOAD_BYTES}, attempts, reserved_at`,
    ),

    /**
     * Deletes one row if our reservation still holds (release and fail).
     * Bindings: id, reservedAt, attempts (of our reservation).
     * Returns: the deleted row (queue, payload, attempts), or undefined when
     *   the reservation was lost (another worker took it over, or it is gone).
     */
    deleteReservation: db.prepare(
      `DELETE FROM ${jobs} WHERE id = :id AND reserved_at >= :reservedAt AND attempts = :attempts
       RETURNING queue, payload, ${PAYLOAD_BYTES}, attempts`,
    ),

    /**
     * Deletes a batch of acknowledged rows, each only if our reservation still holds.
     * Bindings: reservations = JSON text `[[id, reservedAt, attempts], …]`.
     * Returns: the ids actually deleted; an id missing from it lost its reservation.
     */
    deleteReservations: db.prepare(
      `DELETE FROM ${jobs} WHERE id IN (
         SELECT j.id FROM json_each(:reservations) AS r
         JOIN ${jobs} AS j ON j.id = r.value->>0
           AND j.reserved_at >= r.value->>1 AND j.attempts = r.value->>2)
       RETURNING id`,
    ),

    /**
     * Undoes our reservation (a shutdown, a job we refused to start): same
     * row, so its FIFO position is kept, and the attempt is not counted.
     * Bindings: id, reservedAt, attempts (of our reservation); availableAt
     * (unix seconds, or null to keep the row's own).
     * Returns: run() → changes = 1, or 0 when the reservation was lost.
     */
    restoreReservation: db.prepare(
      `UPDATE ${jobs} SET reserved_at = NULL, attempts = attempts - 1,
         available_at = COALESCE(:availableAt, available_at)
       WHERE id = :id AND reserved_at >= :reservedAt AND attempts = :attempts`,
    ),

    /**
     * Laravel's `DatabaseUuidFailedJobProvider::log`; a uuid already there
     * (a retried job failing again) updates that row instead of failing.
     * Bindings: uuid, connection, queue, payload, exception, failedAt (`Y-m-d H:i:s`).
     * Returns: run() → changes = 1.
     */
    upsertFailedJob: db.prepare(upsertFailedJobSql(failed)),

    /**
     * Bindings: queue, now.
     * Returns: one row { ready, delayed, reserved } (an abandoned reservation counts as reserved).
     */
    countByState: db.prepare(
      `SELECT
         COALESCE(SUM(reserved_at IS NULL AND available_at <= :now), 0) AS ready,
         COALESCE(SUM(reserved_at IS NULL AND available_at > :now), 0) AS delayed,
         COALESCE(SUM(reserved_at IS NOT NULL), 0) AS reserved
       FROM ${jobs} WHERE queue = :queue`,
    ),

    /**
     * For waking up without a commit to notice: when the next unreserved job
     * is due, and when the oldest reservation started (it expires retry_after, or the lease, later).
     * Bindings: queue.
     * Returns: one row { nextAvailableAt, oldestReservedAt }, each null when there is none.
     * Cost: scans the queue's rows through jobs_queue_index.
     */
    nextDueTimes: db.prepare(
      `SELECT MIN(CASE WHEN reserved_at IS NULL AND available_at <= ${LAST_USABLE_TIME}
                  THEN available_at END) AS nextAvailableAt,
              MIN(CASE WHEN reserved_at <= ${LAST_USABLE_TIME} THEN reserved_at END)
                AS oldestReservedAt
       FROM ${jobs} WHERE queue = :queue`,
    ),

    /**
     * The rows the claim can never take (see UNCLAIMABLE) in one window of a
     * queue: its next :window rows after id :after, in id order. Rarely run
     * (the sweep), never as part of the claim of good rows.
     * Bindings: queue, after (0: from the start), window, limit.
     * Returns: UnclaimableRow for at most :limit rows, in id order.
     * Cost: :window entries of jobs_queue_index, and their rows.
     */
    findUnclaimable: db.prepare(
      `SELECT id,
         CASE WHEN reserved_at IS NULL THEN 'available_at' ELSE 'reserved_at' END AS "column",
         CASE WHEN reserved_at IS NULL THEN typeof(available_at) ELSE typeof(reserved_at) END
           AS type,
         CASE WHEN reserved_at IS NULL THEN ${shownValue("available_at")}
           ELSE ${shownValue("reserved_at")} END AS shown
       FROM (SELECT id, available_at, reserved_at FROM ${jobs}
             WHERE queue = :queue AND id > :after AND id <= ${LAST_USABLE_TIME}
             ORDER BY id LIMIT :window)
       WHERE ${UNCLAIMABLE}
       ORDER BY id LIMIT :limit`,
    ),

    /**
     * Where the same window ends.
     * Bindings: queue, after, window.
     * Returns: one row { scanned, last }: its number of rows (fewer than
     *   :window: it reached the queue's end) and its last id (null when empty).
     * Cost: :window entries of jobs_queue_index (covering).
     */
    unclaimableWindowEnd: db.prepare(
      `SELECT COUNT(*) AS scanned, MAX(id) AS last
       FROM (SELECT id FROM ${jobs}
             WHERE queue = :queue AND id > :after AND id <= ${LAST_USABLE_TIME}
             ORDER BY id LIMIT :window)`,
    ),

    /**
     * Reserves a row findUnclaimable found, if the claim still cannot take it,
     * so that the runtime can fail it through the usual guarded delete:
     * reserved_at = :now, attempts + 1 (1 when attempts is no count either).
     * Bindings: id, now.
     * Returns: the row as reserveFromQueue returns it, or undefined.
     */
    reserveUnclaimable: db.prepare(
      `UPDATE ${jobs} SET reserved_at = :now, attempts = CASE
         WHEN attempts BETWEEN 0 AND ${LAST_USABLE_TIME - 1} THEN attempts + 1 ELSE 1 END
       WHERE id = :id AND ${UNCLAIMABLE}
       RETURNING id, queue, payload, ${PAYLOAD_BYTES}, attempts, reserved_at`,
    ),

    /**
     * Returns: { data_version }, which changes when ANOTHER connection commits
     * (never for this connection's own writes). Takes no lock.
     */
    dataVersion: db.prepare("PRAGMA data_version"),
  };
}

/**
 * Laravel's `DatabaseUuidFailedJobProvider::log`; a uuid already there (a
 * retried job failing again) updates that row instead of failing.
 * Bindings: uuid, connection, queue, payload, exception, failedAt (`Y-m-d H:i:s`).
 * Returns: run() → changes = 1. `table` is already quoted.
 */
export function upsertFailedJobSql(table: string): string {
  return `INSERT INTO ${table} (uuid, connection, queue, payload, exception, failed_at)
    VALUES (:uuid, :connection, :queue, :payload, :exception, :failedAt)
    ON CONFLICT (uuid) DO UPDATE SET connection = excluded.connection,
      queue = excluded.queue, payload = excluded.payload,
      exception = excluded.exception, failed_at = excluded.failed_at`;
}
