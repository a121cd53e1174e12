/**
 * Laravel's database queue on SQLite: the `jobs` table, read and written the
 * way `DatabaseQueue` does, so Laravel workers and KQueue share one queue.
 * Differences, all towards safety: reservations are claimed in batches in
 * one IMMEDIATE transaction; deletes are guarded by our reservation; a fail
 * deletes the job and writes `failed_jobs` atomically; delays round up.
 */
import type { PushOptions, QueueCounts, QueueDriver, ReservedJob } from "../driver.ts";
import { AckBuffer, later } from "./ack_buffer.ts";
import type { SqliteConnection } from "./connection.ts";
import { JobWaiter, type WaitBaseline } from "./job_waiter.ts";
import * as sql from "./queue_operations.ts";
import { prepareQueueStatements, type QueueStatements } from "./queue_statements.ts";
import { openSqliteDatabase } from "./schema.ts";
import {
  type LostReservation,
  type QueueSettings,
  resolveQueueOptions,
  type SqliteQueueOptions,
} from "./sqlite_queue_options.ts";
import * as check from "./validate.ts";
import { SqliteLeases } from "./sqlite_leases.ts";
import { availableAtSeconds } from "./time.ts";
import { checkDueTime } from "../due_time.ts";
import { LostReservations } from "../lost_reservations.ts";
import { UnclaimableSweep } from "./unclaimable_rows.ts";

export class SqliteQueue implements QueueDriver {
  readonly connectionName: string;
  /** Shared with `SqliteFailedJobStore` / `SqliteExceptionCounter`; closed by `close()`. */
  readonly connection: SqliteConnection;
  /** Seconds. */
  readonly retryAfter: number;
  /** Short extended reservations; absent for `:memory:` (no other connection can reach it). */
  readonly leases: SqliteLeases | undefined;
  readonly #statements: QueueStatements;
  readonly #settings: QueueSettings;
  readonly #waiter: JobWaiter;
  readonly #acks = new AckBuffer();
  readonly #unclaimable: UnclaimableSweep;
  readonly #inFlight = new Set<Promise<unknown>>();
  #cancelAckFlush: (() => void) | undefined;
  #baseline: WaitBaseline = { dataVersion: undefined, localWrites: 0 };
  readonly #lost: LostReservations;
  #closing: Promise<void> | undefined;

  /** Opens the file (adds no tables to an existing one unless `createTables`: see `openSqliteDatabase`). */
  static async open(options: SqliteQueueOptions): Promise<SqliteQueue> {
    const settings = resolveQueueOptions(options);
    const connection = await openSqliteDatabase(settings.path, {
      jobsTable: settings.tables.jobs,
      failedTable: settings.tables.failedJobs,
      busyDeadlineMs: settings.busyDeadlineMs,
      create: settings.createTables,
    });
    try {
      const statements = prepareQueueStatements(connection.db, settings.tables);
      return new SqliteQueue(connection, statements, settings);
    } catch (error) {
      connection.close();
      throw error;
    }
  }

  private constructor(
    connection: SqliteConnection,
    statements: QueueStatements,
    settings: QueueSettings,
  ) {
    this.connection = connection;
    this.connectionName = settings.connectionName;
    this.retryAfter = settings.retryAfter;
    this.leases = settings.path === ":memory:" ? undefined : new SqliteLeases(settings.retryAfter, {
      path: settings.path,
      jobsTable: settings.tables.jobs,
      busyDeadlineMs: settings.busyDeadlineMs,
    });
    this.#statements = statements;
    this.#settings = settings;
    this.#lost = new LostReservations(settings.onReservationLost);
    this.#unclaimable = new UnclaimableSweep(settings.tables.jobs);
    this.#waiter = new JobWaiter({
      pollIntervalMs: settings.pollIntervalMs,
      readDataVersion: () => sql.readDataVersion(statements),
      msUntilDue: (queues) =>
        sql.msUntilDue(statements, queues, settings.clock(), this.#reservationSeconds),
    });
  }

  /** How many acks, releases, requeues and fails found their reservation taken over. */
  get lostReservations(): number {
    return this.#lost.count;
  }

  async push(queue: string, payload: string, options?: PushOptions): Promise<string> {
    const [id] = await this.pushMany(queue, [payload], options);
    return id as string;
  }

  /** All in one transaction. Returns the new ids, in order. */
  async pushMany(
    queue: string,
    payloads: readonly string[],
    options?: PushOptions,
  ): Promise<string[]> {
    const action = "push jobs";
    check.requireNonEmptyString(action, "queue", queue);
    if (!Array.isArray(payloads)) {
      throw new TypeError(`Cannot ${action} as 'payloads' must be an array of strings`);
    }
    for (const payload of payloads) check.requireString(action, "payload", payload);
    const delay = check.requireNonNegativeNumber(action, "delay", options?.delay ?? 0);
    this.#requireOpen(action);
    if (payloads.length === 0) return [];
    checkDueTime(`Cannot ${action}: a delay of ${delay} seconds`, this.#settings.clock(), delay);
    const ids = await this.#write(
      action,
      () => sql.insertJobs(this.#statements, queue, payloads, this.#settings.clock(), delay),
    );
    this.#waiter.notifyLocalWrite();
    return ids;
  }

  /**
   * One transaction: deletes the buffered acks, then claims up to `limit`
   * rows, queues in priority order. Sorted by queue priority, then id. Now
   * and then it first takes rows no claim ever could (see UnclaimableSweep):
   * those come first, marked `invalid` for the runtime to fail.
   */
  async reserve(queues: readonly string[], limit: number): Promise<ReservedJob[]> {
    const action = "reserve jobs";
    check.requireQueueNames(action, queues);
    check.requirePositiveInteger(action, "limit", limit);
    this.#requireOpen(action);
    const acks = this.#acks.take();
    const nowMs = this.#settings.clock();
    const sweeping = this.#unclaimable.due(nowMs);
    let result;
    try {
      result = await this.#write(action, () => {
        const deleted = sql.deleteAcked(this.#statements, acks);
        const swept = sweeping
          ? this.#unclaimable.sweep(this.#statements, queues, limit, nowMs)
          : undefined;
        return {
          deleted,
          // Read inside the transaction: no other connection can commit until we do.
          dataVersion: sql.readDataVersion(this.#statements),
          localWrites: this.#waiter.localWrites,
          swept,
          jobs: sql.claimJobs(
            this.#statements,
            queues,
            limit - (swept?.jobs.length ?? 0),
            this.#settings.clock(),
            this.#reservationSeconds,
          ),
        };
      });
    } catch (error) {
      this.#acks.putBack(acks);
      this.#scheduleAckFlush();
      throw error;
    }
    this.#lost.report("ack", acks.resolve(result.deleted));
    this.#baseline = { dataVersion: result.dataVersion, localWrites: result.localWrites };
    if (result.swept === undefined) return result.jobs;
    this.#unclaimable.advance(result.swept, nowMs);
    return result.swept.jobs.length === 0 ? result.jobs : [...result.swept.jobs, ...result.jobs];
  }

  /**
   * Buffered: deleted at the next reserve or after `ackFlushDelayMs`.
   * Resolves once committed: true, or false when the reservation was lost
   * (see `onReservationLost`).
   */
  async ack(job: ReservedJob): Promise<boolean> {
    const reservation = check.reservationOf("acknowledge a job", job);
    this.#requireOpen("acknowledge a job");
    const deleted = this.#acks.add(job, reservation);
    this.#scheduleAckFlush();
    return await deleted;
  }

  /**
   * Laravel's release: the row is deleted and re-inserted (a new id) with
   * the same payload and attempts. Changes nothing when the reservation was
   * lost (Laravel would insert a duplicate of a job another worker runs),
   * and resolves false.
   */
  async release(job: ReservedJob, delaySeconds = 0): Promise<boolean> {
    const action = "release a job";
    const reservation = check.reservationOf(action, job);
    const delay = check.requireDelay(action, "delaySeconds", delaySeconds, this.#settings.clock());
    this.#requireOpen(action);
    const released = await this.#write(
      action,
      () => sql.releaseJob(this.#statements, reservation, this.#settings.clock(), delay),
    );
    this.#afterWrite("release", job, released);
    return released;
  }

  /**
   * Not the job's fault: the same row goes back as before the reservation
   * (attempt not counted). Resolves false, changing nothing, when the reservation was lost.
   */
  async requeue(job: ReservedJob, delaySeconds = 0): Promise<boolean> {
    const action = "requeue a job";
    const reservation = check.reservationOf(action, job);
    const delay = check.requireDelay(action, "delaySeconds", delaySeconds, this.#settings.clock());
    this.#requireOpen(action);
    const availableAt = delay > 0 ? availableAtSeconds(this.#settings.clock(), delay) : null;
    const restored = await this.#write(
      action,
      () => sql.requeueJob(this.#statements, reservation, availableAt),
    );
    this.#afterWrite("requeue", job, restored);
    return restored;
  }

  /**
   * One transaction: delete the job, write its `failed_jobs` row (a known
   * uuid updates its row). When the reservation was lost, writes nothing
   * (the job is another worker's now), reports it to `onReservationLost`
   * and resolves false.
   */
  async fail(job: ReservedJob, failure: sql.FailedJobInput): Promise<boolean> {
    const action = "fail a job";
    const reservation = check.reservationOf(action, job);
    check.requireNonEmptyString(action, "uuid", failure?.uuid);
    check.requireString(action, "exception", failure.exception);
    if (failure.payload !== undefined) check.requireString(action, "payload", failure.payload);
    this.#requireOpen(action);
    const failed = await this.#write(action, () =>
      sql.failJob(
        this.#statements,
        reservation,
        failure,
        this.connectionName,
        this.#settings.clock(),
      ));
    if (!failed) this.#lost.report("fail", [job]);
    return failed;
  }

  async waitForJobs(
    queues: readonly string[],
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const action = "wait for jobs";
    check.requireQueueNames(action, queues);
    check.requireDuration(action, "maxWaitMs", maxWaitMs);
    if (this.#closing) return;
    await this.#waiter.wait(queues, maxWaitMs, this.#baseline, signal);
  }

  async counts(queue: string): Promise<QueueCounts> {
    const action = "count jobs";
    check.requireNonEmptyString(action, "queue", queue);
    this.#requireOpen(action);
    return await this.#track(
      this.connection.read(
        action,
        () => sql.countJobs(this.#statements, queue, this.#settings.clock()),
      ),
    );
  }

  /** Ends waits, lets running operations finish, flushes acks, closes the file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#cancelAckFlush?.();
      this.#cancelAckFlush = undefined;
      this.#waiter.close();
      await Promise.allSettled([...this.#inFlight]);
      await this.#flushAcks();
      this.connection.close();
    })();
    return this.#closing;
  }

  #scheduleAckFlush(): void {
    if (this.#cancelAckFlush !== undefined || this.#closing) return;
    this.#cancelAckFlush = later(this.#settings.ackFlushDelayMs, () => {
      this.#cancelAckFlush = undefined;
      this.#track(this.#flushAcks());
    });
  }

  /** Never rejects: a failed delete rejects the acks it carried. */
  async #flushAcks(): Promise<void> {
    const batch = this.#acks.take();
    if (batch.size === 0) return;
    try {
      const deleted = await this.connection.write(
        "delete acknowledged jobs",
        () => sql.deleteAcked(this.#statements, batch),
      );
      this.#lost.report("ack", batch.resolve(deleted));
    } catch (error) {
      batch.reject(error);
    }
  }

  #afterWrite(operation: LostReservation["operation"], job: ReservedJob, succeeded: boolean) {
    if (succeeded) this.#waiter.notifyLocalWrite();
    else this.#lost.report(operation, [job]);
  }

  /** retry_after, or the lease once one is set. Seconds. */
  get #reservationSeconds(): number {
    return this.leases?.reservationSeconds ?? this.retryAfter;
  }

  #requireOpen(action: string): void {
    if (this.#closing) throw new Error(`Cannot ${action} as the queue is closed`);
  }

  /** A write transaction that `close()` waits for. */
  #write<T>(action: string, body: () => T): Promise<T> {
    return this.#track(this.connection.write(action, body));
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    this.#inFlight.add(operation);
    const forget = () => this.#inFlight.delete(operation);
    operation.then(forget, forget);
    return operation;
  }
}
