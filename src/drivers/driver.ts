/**
 * The storage seam. A driver knows one storage layout (Laravel's `jobs`
 * table, Laravel's Redis keys) and nothing about job classes or execution.
 * Times are unix seconds where they reach storage, as Laravel stores them.
 */

/** A job taken from storage. The runtime only reads it; the driver owns its handle fields. */
export interface ReservedJob {
  /** Storage id: the `jobs.id` row id, or the Redis payload `id`. Changes on a database release. */
  readonly id: string;
  /** Plain queue name (`default`), without any key prefix. */
  readonly queue: string;
  /** The payload text as stored (the `jobs.payload` column, or the Redis list copy). */
  readonly rawPayload: string;
  /** Attempts including this one (Laravel's `attempts()`: 1 on the first run). */
  readonly attempts: number;
  /** Unix seconds when this reservation was made (database `reserved_at`). */
  readonly reservedAt: number;
  /** Driver-private handle (e.g. the exact reserved Redis member). */
  readonly handle?: unknown;
  /**
   * Set when the store itself cannot keep this job (a Redis payload with no
   * numeric `attempts`; a `jobs` row whose available_at or reserved_at no
   * worker can compare): the runtime fails it with this reason, never runs it.
   */
  readonly invalid?: string;
}

/** One row of `failed_jobs`, as Laravel's `queue:failed` lists it. */
export interface FailedJobRecord {
  readonly id: number;
  readonly uuid: string;
  readonly connection: string;
  readonly queue: string;
  readonly payload: string;
  readonly exception: string;
  /** `Y-m-d H:i:s`, UTC. */
  readonly failedAt: string;
}

export interface QueueCounts {
  /** Available now (not reserved, `available_at` <= now). */
  readonly ready: number;
  /** Waiting for `available_at` (delays and backoffs). */
  readonly delayed: number;
  /** Reserved by some worker (running, or abandoned until `retry_after`). */
  readonly reserved: number;
}

export interface PushOptions {
  /** Seconds before the job may run. @default 0 */
  readonly delay?: number;
}

export interface QueueDriver {
  /** The Laravel queue connection name (`database`, `redis`): written to `failed_jobs.connection`. */
  readonly connectionName: string;

  /** Stores a payload; returns its storage id. */
  push(queue: string, payload: string, options?: PushOptions): Promise<string>;

  /** Stores many payloads in one round trip / transaction. */
  pushMany(queue: string, payloads: readonly string[], options?: PushOptions): Promise<string[]>;

  /**
   * Reserves up to `limit` jobs, taking queues in priority order (the first
   * queue is drained before the next is looked at). Attempts are counted here.
   * Returns [] when nothing is available; never waits.
   */
  reserve(queues: readonly string[], limit: number): Promise<ReservedJob[]>;

  /**
   * The job succeeded: delete it. May be batched; resolves once it is durable.
   * Resolves false, deleting nothing, when the reservation was lost (another
   * worker re-reserved the job after `retry_after`).
   */
  ack(job: ReservedJob): Promise<boolean>;

  /**
   * The job will be retried: back on the queue after `delaySeconds`, this
   * attempt counted. Resolves false, changing nothing, when the reservation was lost.
   */
  release(job: ReservedJob, delaySeconds: number): Promise<boolean>;

  /**
   * Puts the job back as it was before the reservation (attempt not counted):
   * for shutdowns and for jobs the runtime refused to start. With
   * `delaySeconds` > 0 it becomes available only then (a job left for
   * another kind of worker, so it is not taken again at once). Resolves
   * false, changing nothing, when the reservation was lost.
   */
  requeue(job: ReservedJob, delaySeconds?: number): Promise<boolean>;

  /**
   * Final failure: delete the job and write its `failed_jobs` row (atomically
   * where the store allows). A uuid already in `failed_jobs` updates that row.
   * `payload` is the text to record (defaults to the job's raw payload).
   * Resolves false, writing nothing, when the reservation was lost (another
   * worker re-reserved the job after `retry_after`).
   */
  fail(
    job: ReservedJob,
    failure: { uuid: string; exception: string; payload?: string },
  ): Promise<boolean>;

  /**
   * Resolves when jobs may have become available: new data, a delay coming due,
   * a reservation expiring, `maxWaitMs` passing, or `signal` aborting.
   */
  waitForJobs(queues: readonly string[], maxWaitMs: number, signal?: AbortSignal): Promise<void>;

  /** Counts for one queue. */
  counts(queue: string): Promise<QueueCounts>;

  /** Flushes pending acks and closes connections. */
  close(): Promise<void>;

  /** Short reservations that a supervisor extends (absent: reservations last `retry_after`). */
  readonly leases?: LeaseSupport;
}

/**
 * Short, extended reservations. After `useLease(s)` the driver's reservations
 * last `s` seconds, and KQueue's own claims judge expiry by `s` instead of
 * `retry_after`; the daemon keeps them alive from a supervisor Worker, which
 * opens a store connection of its own through `extender`.
 */
export interface LeaseSupport {
  /** Laravel's `retry_after` of this connection: how long an unextended reservation lasts. Seconds. */
  readonly retryAfter: number;
  /** Reservations made from now on last `seconds` (0: `retry_after` again, nothing extends them). */
  useLease(seconds: number): void;
  /**
   * What the Worker imports: a module exporting `openLeaseExtender(config)`
   * (see `OpenLeaseExtender`), and its structured-cloneable config.
   */
  readonly extender: { readonly moduleUrl: string; readonly config: unknown };
  /** The structured-cloneable identity of `job`'s reservation, for the extender. */
  identityOf(job: ReservedJob): unknown;
  /**
   * The extender moved `job`'s reservation on to `value` (database: the new
   * `reserved_at`; Redis: the new score): the in-memory identity follows, so
   * ack, release, requeue and fail still match it.
   */
  extended(job: ReservedJob, value: number): void;
}

/**
 * Runs inside the supervisor Worker on a connection of its own: holds the
 * identities of the reservations in flight and extends them all at once.
 */
export interface LeaseExtender {
  add(key: number, identity: unknown): void;
  remove(key: number): void;
  readonly size: number;
  /**
   * Extends every held reservation that is still ours to last `leaseSeconds`
   * from now, in batches; forgets those that are gone (settled, or taken
   * over). Resolves with [key, new value] for each one extended. Rejects
   * (extending nothing more) when the store fails.
   */
  extendAll(leaseSeconds: number): Promise<Array<[key: number, value: number]>>;
  close(): Promise<void>;
}

export type OpenLeaseExtender = (config: unknown) => Promise<LeaseExtender>;

/** Laravel's `maxExceptions` counters (`job-exceptions:<uuid>` in the cache store). */
export interface ExceptionCounter {
  /** Adds one and returns the new count (the key lives one day). */
  increment(uuid: string): Promise<number>;
  /** Forgets the counter (when the job fails on it). */
  reset(uuid: string): Promise<void>;
}

/** Reads and manages `failed_jobs`, like `queue:failed`, `queue:retry`, `queue:forget`. */
export interface FailedJobStore {
  list(): Promise<FailedJobRecord[]>;
  find(uuid: string): Promise<FailedJobRecord | undefined>;
  forget(uuid: string): Promise<boolean>;
}

/** One failure to record in `failed_jobs`. */
export interface FailedJobEntry {
  readonly uuid: string;
  /** Laravel queue connection name (`redis`). */
  readonly connection: string;
  readonly queue: string;
  readonly payload: string;
  readonly exception: string;
}

/**
 * Writes `failed_jobs` rows for drivers whose storage has no such table:
 * Laravel keeps Redis queues' failed jobs in the database. A uuid already
 * present updates its row.
 */
export interface FailedJobLogger {
  log(entry: FailedJobEntry): Promise<void>;
}
