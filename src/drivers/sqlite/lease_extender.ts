/**
 * Extends SQLite reservations from the supervisor Worker, on a connection of
 * its own (a `busy_timeout` wait or a long statement there never holds up
 * the daemon's main thread, and a main thread busy with an inline job never
 * holds up the extension).
 *
 * One guarded UPDATE per batch moves `reserved_at` to now: only rows whose
 * reservation is still ours ((id, attempts) unchanged, `reserved_at` not
 * older than ours), so a job that another worker took over, or that was
 * already acked, released or requeued, is never touched.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { LeaseExtender } from "../driver.ts";
import { retryWhileBusy } from "./busy.ts";
import { unixSeconds } from "./time.ts";
import { requireTableName } from "./validate.ts";

export interface SqliteLeaseConfig {
  readonly path: string;
  readonly jobsTable: string;
  /** Give up on a locked file after this long (the next round tries again). Milliseconds. */
  readonly busyDeadlineMs: number;
}

/** Rows per UPDATE (bounds one statement's time holding the write lock). */
const BATCH = 500;

type Identity = [id: number, attempts: number, reservedAt: number];

export function openLeaseExtender(config: unknown): Promise<LeaseExtender> {
  const { path, jobsTable, busyDeadlineMs } = config as SqliteLeaseConfig;
  const table = `"${requireTableName("extend leases", "jobsTable", jobsTable)}"`;
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    db.exec("PRAGMA synchronous=NORMAL");
    /**
     * Bindings: now (unix seconds); reservations = JSON `[[id, attempts, reservedAt], …]`.
     * Returns: id, reserved_at of each row extended; a missing id is no longer ours.
     * Guarantees: reserved_at only moves forward; attempts and everything else untouched.
     */
    const extend = db.prepare(
      `UPDATE ${table} SET reserved_at = MAX(reserved_at, :now)
       WHERE id IN (
         SELECT j.id FROM json_each(:reservations) AS r
         JOIN ${table} AS j ON j.id = r.value->>0
           AND j.attempts = r.value->>1 AND j.reserved_at >= r.value->>2)
       RETURNING id, reserved_at`,
    );
    return Promise.resolve(new SqliteLeaseExtender(db, extend, path, busyDeadlineMs));
  } catch (error) {
    db.close();
    throw error;
  }
}

class SqliteLeaseExtender implements LeaseExtender {
  readonly #held = new Map<number, Identity>();

  constructor(
    readonly db: DatabaseSync,
    readonly statement: StatementSync,
    readonly path: string,
    readonly busyDeadlineMs: number,
  ) {}

  get size(): number {
    return this.#held.size;
  }

  add(key: number, identity: unknown): void {
    this.#held.set(key, identity as Identity);
  }

  remove(key: number): void {
    this.#held.delete(key);
  }

  async extendAll(): Promise<Array<[number, number]>> {
    const extended: Array<[number, number]> = [];
    const entries = [...this.#held];
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH);
      const rows = await retryWhileBusy(
        () =>
          this.statement.all({
            now: unixSeconds(Date.now()),
            reservations: JSON.stringify(batch.map(([, identity]) => identity)),
          }),
        { path: this.path, action: "extend leases", deadlineMs: this.busyDeadlineMs },
      );
      const movedTo = new Map(rows.map((row) => [Number(row.id), Number(row.reserved_at)]));
      for (const [key, identity] of batch) {
        const reservedAt = movedTo.get(identity[0]);
        if (reservedAt === undefined) {
          // Settled (the main thread's remove is on its way) or taken over: never ours again.
          this.#held.delete(key);
          continue;
        }
        identity[2] = reservedAt;
        extended.push([key, reservedAt]);
      }
    }
    return extended;
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
