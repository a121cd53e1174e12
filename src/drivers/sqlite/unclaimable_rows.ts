/**
 * Rows of the `jobs` table that no worker will ever take: an available_at or
 * reserved_at that is not a time the claim can compare (NULL, text, a blob)
 * or that is past any usable time (see UNCLAIMABLE in queue_statements.ts).
 * Laravel's pop skips them forever, silently. A sweep finds them and
 * reserves them marked `invalid`, so the runtime fails them into
 * failed_jobs with the column and the value named (`retry` then pushes them
 * again with a valid time).
 *
 * The claim of good rows is untouched. The sweep runs inside a reserve's
 * transaction at most once per SWEEP_INTERVAL_MS, over one window of
 * WINDOW_ROWS rows per queue, resuming where the last window ended and
 * starting over at the queue's end: bounded work, spread over time. When it
 * finds more than the reserve has room for, the next reserve goes on at once
 * (each of those rows is failed, so that is no hot loop).
 */
import type { ReservedJob } from "../driver.ts";
import { printable } from "../../payload/untrusted_text.ts";
import { payloadText } from "./payload_text.ts";
import type { QueueStatements, ReservedRow, UnclaimableRow } from "./queue_statements.ts";
import { unixSeconds } from "./time.ts";

/** How often a sweep runs at most. Milliseconds. */
const SWEEP_INTERVAL_MS = 1000;
/** Rows of each queue one sweep looks at (~0.1–0.5 ms here). */
const WINDOW_ROWS = 1000;

/** What one sweep took, and where each queue's next window starts (applied after the commit). */
export interface SweepResult {
  readonly jobs: ReservedJob[];
  readonly nextAfter: ReadonlyMap<string, number>;
  /** It found more than it had room for: sweep again at the next reserve. */
  readonly more: boolean;
}

export class UnclaimableSweep {
  readonly #table: string;
  /** Per queue: the last id the previous window covered (0: start over). */
  readonly #after = new Map<string, number>();
  #dueAt = -Infinity;

  constructor(table: string) {
    this.#table = table;
  }

  /** Whether a reserve at `nowMs` should sweep (the first one always does). */
  due(nowMs: number): boolean {
    return nowMs >= this.#dueAt;
  }

  /**
   * Reserves up to `limit` unclaimable rows of `queues`, in priority order,
   * marked invalid. Runs inside the reserve's transaction (possibly more than
   * once, on a busy retry): it changes no state of its own, see `advance`.
   */
  sweep(
    statements: QueueStatements,
    queues: readonly string[],
    limit: number,
    nowMs: number,
  ): SweepResult {
    const now = unixSeconds(nowMs);
    const jobs: ReservedJob[] = [];
    const nextAfter = new Map<string, number>();
    let more = false;
    for (const queue of queues) {
      const room = limit - jobs.length;
      if (room === 0) {
        more = true;
        break;
      }
      const after = this.#after.get(queue) ?? 0;
      const found = statements.findUnclaimable.all({
        queue,
        after,
        window: WINDOW_ROWS,
        limit: room + 1,
      }) as unknown as UnclaimableRow[];
      for (const row of found.slice(0, room)) {
        const reserved = statements.reserveUnclaimable.get({ id: row.id, now }) as
          | ReservedRow
          | undefined;
        if (reserved !== undefined) jobs.push(this.#invalidJob(reserved, row));
      }
      if (found.length > room) {
        nextAfter.set(queue, found[room - 1]!.id);
        more = true;
        continue;
      }
      const end = statements.unclaimableWindowEnd.get({ queue, after, window: WINDOW_ROWS });
      const reachedEnd = Number(end?.scanned ?? 0) < WINDOW_ROWS;
      nextAfter.set(queue, reachedEnd ? 0 : Number(end?.last));
    }
    return { jobs, nextAfter, more };
  }

  /** After the reserve committed: the next windows, and when to sweep again. */
  advance(result: SweepResult, nowMs: number): void {
    for (const [queue, after] of result.nextAfter) this.#after.set(queue, after);
    this.#dueAt = result.more ? nowMs : nowMs + SWEEP_INTERVAL_MS;
  }

  #invalidJob(reserved: ReservedRow, row: UnclaimableRow): ReservedJob {
    return {
      id: String(reserved.id),
      queue: reserved.queue,
      rawPayload: payloadText(reserved),
      attempts: reserved.attempts,
      reservedAt: reserved.reserved_at,
      invalid: unclaimableReason(this.#table, row),
    };
  }
}

/** "Row 12 of jobs has available_at 'abc', not a unix time in seconds, so no worker …". */
export function unclaimableReason(table: string, row: UnclaimableRow): string {
  const what = row.type === "integer" || row.type === "real"
    ? "past any usable unix time"
    : "not a unix time in seconds";
  return `Row ${row.id} of ${table} has ${row.column} ${printable(row.shown, 60)}, ${what}, ` +
    `so no worker would ever take it: retry it to push it again with a valid time`;
}
