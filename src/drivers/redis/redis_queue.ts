/**
 * Laravel's Redis queue: the same keys, the same Lua semantics (push, the
 * delayed/reserved migrations, pop with attempts + 1 through Redis' cjson,
 * byte-exact ZREM, release of the reserved copy), so Laravel workers and
 * KQueue share one queue. Differences, all towards throughput or safety:
 * one script call reserves a batch across queues in priority order; acks of
 * one event-loop turn share one call; the reserve script never drops a
 * malformed payload; release/requeue/fail change nothing once the lease was
 * lost; settles are replayed after a reconnect; waiting is one BLPOP over
 * every queue's `:notify` list, with a reserve right behind it (the jobs it
 * takes are handed out by the next `reserve`, or requeued by `close`).
 */
import type { PushOptions, QueueCounts, QueueDriver, ReservedJob } from "../driver.ts";
import * as check from "../sqlite/validate.ts";
import { availableAtSeconds } from "../sqlite/time.ts";
import { checkDueTime } from "../due_time.ts";
import { AckBatcher } from "./ack_batcher.ts";
import type { Redis } from "./ioredis.ts";
import { withDeadline } from "./deadline.ts";
import { type QueueKeys, queueKeys } from "./keys.ts";
import { NotifyWaiter } from "./notify_waiter.ts";
import type { StashedJob } from "./prefetch_stash.ts";
import { LostReservations } from "../lost_reservations.ts";
import { BlockingLink } from "./blocking_link.ts";
import { RedisLink } from "./redis_link.ts";
import { withRedisKeys } from "./redis_payload.ts";
import {
  checkFailure,
  checkPush,
  type RedisQueueOptions,
  type RedisQueueSettings,
  type RedisQueueStats,
  resolveRedisQueueOptions,
} from "./redis_queue_options.ts";
import { RedisLeases } from "./redis_leases.ts";
import { reservationOf } from "./reservation.ts";
import { Reserver } from "./reserver.ts";
import { retryUntilSettled } from "./retry_settle.ts";
import * as ops from "./queue_operations.ts";
import { serverVersion } from "./server_info.ts";

export class RedisQueue implements QueueDriver {
  readonly connectionName: string;
  /** Seconds. */
  readonly retryAfter: number;
  readonly prefix: string;
  readonly leases: RedisLeases;
  readonly #s: RedisQueueSettings;
  readonly #commands: RedisLink;
  readonly #blocking: BlockingLink;
  readonly #acks: AckBatcher;
  readonly #waiter: NotifyWaiter;
  readonly #reserver: Reserver;
  readonly #keys = new Map<string, QueueKeys>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #fractionalTimeouts = true;
  readonly #lost: LostReservations;
  #replays = 0;
  #closing: Promise<void> | undefined;

  /** Connects (two connections: commands, and one that blocks in waitForJobs). */
  static async open(options: RedisQueueOptions): Promise<RedisQueue> {
    const settings = resolveRedisQueueOptions(options);
    const commands = new RedisLink(settings.endpoint, { name: "kqueue", maxRetriesPerRequest: 1 });
    const blocking = new BlockingLink(settings.endpoint, {
      name: "kqueue-blocking",
      connectTimeoutMs: settings.connectTimeoutMs,
    });
    try {
      const opened = await Promise.allSettled([
        commands.open(settings.connectTimeoutMs),
        blocking.open(),
      ]);
      // The command connection's error first: it names the server and the fix in full.
      for (const result of opened) if (result.status === "rejected") throw result.reason;
      const queue = new RedisQueue(settings, commands, blocking);
      queue.#fractionalTimeouts = (await serverVersion(commands))[0] >= 6;
      return queue;
    } catch (error) {
      commands.close();
      blocking.close();
      throw error;
    }
  }

  private constructor(settings: RedisQueueSettings, commands: RedisLink, blocking: BlockingLink) {
    this.#s = settings;
    this.#lost = new LostReservations(settings.onReservationLost);
    this.connectionName = settings.connectionName;
    this.retryAfter = settings.retryAfter;
    this.prefix = settings.prefix;
    this.leases = new RedisLeases(settings.retryAfter, {
      endpoint: settings.endpoint,
      connectTimeoutMs: settings.connectTimeoutMs,
    });
    this.#commands = commands;
    this.#blocking = blocking;
    this.#acks = new AckBatcher(commands, settings.ackFlushDelayMs, () => this.#replays++);
    this.#reserver = new Reserver({
      settings,
      reservationSeconds: () => this.leases.reservationSeconds,
      keys: (queue) => this.keys(queue),
      fail: (job, failure) => this.fail(job, failure),
      putBack: (entry) => this.#putBack(entry),
      track: (operation) => this.#track(operation),
    });
    this.#waiter = new NotifyWaiter({
      blocking,
      commands,
      wakeKey: `${settings.prefix}kqueue:wake:${crypto.randomUUID()}`,
      sliceMs: settings.blockSliceMs,
      fractionalTimeouts: () => this.#fractionalTimeouts,
      clock: settings.clock,
      dueAt: (queues) => this.#reserver.dueAt(queues),
      prefetch: (queues) => this.#reserver.prefetch(blocking, queues),
    });
  }

  /**
   * Counters for logs and tests. `lostReservations`: acks, releases, requeues
   * and fails that found their reservation taken over. `replays`: settles
   * KQueue sent again after they failed with the connection (ioredis itself
   * resends what was in flight after a quick reconnect). `reconnects`: times
   * the command connection came back; `blockingReconnects`: the blocking one.
   */
  get stats(): RedisQueueStats {
    return {
      lostReservations: this.#lost.count,
      replays: this.#replays,
      reconnects: this.#commands.reconnects,
      blockingReconnects: this.#blocking.reconnects,
    };
  }

  /** The key names of a queue (`<prefix>queues:<name>` …). */
  keys(queue: string): QueueKeys {
    let keys = this.#keys.get(queue);
    if (keys === undefined) this.#keys.set(queue, keys = queueKeys(this.prefix, queue));
    return keys;
  }

  async push(queue: string, payload: string, options?: PushOptions): Promise<string> {
    const [id] = await this.pushMany(queue, [payload], options);
    return id as string;
  }

  /**
   * Adds `id` and `attempts: 0` to each payload (see `withRedisKeys`); all in
   * one call. No delay: Laravel's push (list + notify). A delay: Laravel's
   * `later`, a plain ZADD to `:delayed` at now + delay, rounded up to the second.
   * Returns the payloads' ids, in order.
   */
  async pushMany(
    queue: string,
    payloads: readonly string[],
    options?: PushOptions,
  ): Promise<string[]> {
    const action = "push jobs";
    const delay = checkPush(action, queue, payloads, options);
    this.#requireOpen(action);
    if (payloads.length === 0) return [];
    const now = this.#s.clock();
    checkDueTime(`Cannot ${action}: a delay of ${delay} seconds`, now, delay);
    const prepared = payloads.map(withRedisKeys);
    const due = delay === 0 ? undefined : availableAtSeconds(now, delay);
    const texts = prepared.map((p) => p.text);
    await this.#command(action, (c) => ops.pushPayloads(c, this.keys(queue), texts, due));
    return prepared.map((p) => p.id);
  }

  /**
   * One script call: for each queue in priority order, migrates due delayed
   * jobs and expired leases, then pops (attempts + 1) until `limit` jobs are
   * taken. In the order taken. Jobs a wait reserved ahead come first, with
   * no round trip.
   */
  async reserve(queues: readonly string[], limit: number): Promise<ReservedJob[]> {
    const action = "reserve jobs";
    check.requireQueueNames(action, queues);
    check.requirePositiveInteger(action, "limit", limit);
    this.#requireOpen(action);
    // Jobs a wait reserved ahead: no round trip, and nothing between the wake-up and the start.
    const stashed = this.#reserver.takeStashed(queues, limit);
    if (stashed.length > 0) {
      this.#acks.flush();
      return stashed;
    }
    const reserving = this.#command(
      action,
      () => this.#reserver.reserve(this.#commands.client, queues, limit),
    );
    this.#acks.flush(); // waiting acks go right behind it, not ahead: jobs first
    return await reserving;
  }

  /**
   * Batched: acks wait up to `ackFlushDelayMs` (or the next reserve) to share one call. Resolves once
   * Redis removed the reservation: true, or false when it found it lost (see
   * `onReservationLost`). A call cut off by a dropped connection is replayed after reconnecting.
   */
  async ack(job: ReservedJob): Promise<boolean> {
    const reservation = reservationOf("acknowledge a job", job);
    this.#requireOpen("acknowledge a job");
    const removed = await this.#acks.add(reservation.keys.reserved, reservation.member);
    if (!removed) this.#lost.report("ack", [job]);
    return removed;
  }

  /**
   * Laravel's release: the reserved copy (attempts counted) goes to
   * `:delayed`, due in `delaySeconds` (0: now; else rounded up to the
   * second). Changes nothing when the reservation was lost, and resolves false.
   */
  async release(job: ReservedJob, delaySeconds = 0): Promise<boolean> {
    const action = "release a job";
    const reservation = reservationOf(action, job);
    const delay = check.requireDelay(action, "delaySeconds", delaySeconds, this.#s.clock());
    this.#requireOpen(action);
    const due = availableAtSeconds(this.#s.clock(), delay);
    const released = await this.#settle(action, (c) => ops.releaseReservation(c, reservation, due));
    if (!released) this.#lost.report("release", [job]);
    return released;
  }

  /**
   * Not the job's fault: the list copy goes back to the head of the list (or,
   * with a delay, to `:delayed`), attempt not counted. Resolves false,
   * changing nothing, when the reservation was lost.
   */
  async requeue(job: ReservedJob, delaySeconds = 0): Promise<boolean> {
    const action = "requeue a job";
    const reservation = reservationOf(action, job);
    const delay = check.requireDelay(action, "delaySeconds", delaySeconds, this.#s.clock());
    this.#requireOpen(action);
    const due = delay > 0 ? availableAtSeconds(this.#s.clock(), delay) : undefined;
    const restored = await this.#settle(
      action,
      (c) => ops.requeueReservation(c, reservation, due),
    );
    if (!restored) this.#lost.report("requeue", [job]);
    return restored;
  }

  /**
   * Deletes the job, then writes its failed_jobs row through the
   * `failedJobLogger` with the LIST copy as payload (Laravel's behaviour) unless
   * `failure.payload` is given. If that write fails, the reservation is put back
   * (the job comes back after `retryAfter`) and the error is thrown. When the
   * reservation was lost, writes nothing and resolves false (except for a
   * malformed member, which identical copies may have shared).
   */
  async fail(
    job: ReservedJob,
    failure: { uuid: string; exception: string; payload?: string },
  ): Promise<boolean> {
    const action = "fail a job";
    const reservation = reservationOf(action, job);
    checkFailure(action, failure);
    this.#requireOpen(action);
    const removed = await this.#settle(action, ops.failDeletion(reservation));
    // Identical malformed members (junk has no id to tell them apart) share one `:reserved`
    // entry: the first failure removed it, yet every popped copy is a job to record.
    if (!removed && !reservation.malformed) {
      this.#lost.report("fail", [job]);
      return false;
    }
    try {
      await this.#s.failedJobLogger.log({
        uuid: failure.uuid,
        connection: this.connectionName,
        queue: job.queue,
        payload: failure.payload ?? job.rawPayload,
        exception: failure.exception,
      });
    } catch (error) {
      await this.#settle("restore a reservation", (c) => ops.restoreReservation(c, reservation))
        .catch(() => {});
      throw error;
    }
    return true;
  }

  /** One BLPOP over all the queues' `:notify` lists (see NotifyWaiter); never polls, never rejects. */
  async waitForJobs(
    queues: readonly string[],
    maxWaitMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const action = "wait for jobs";
    check.requireQueueNames(action, queues);
    check.requireDuration(action, "maxWaitMs", maxWaitMs);
    if (this.#closing || this.#reserver.hasStashed(queues)) return;
    const notifyKeys = queues.map((queue) => this.keys(queue).notify);
    await this.#waiter.wait(queues, notifyKeys, maxWaitMs, signal);
  }

  async counts(queue: string): Promise<QueueCounts> {
    const action = "count jobs";
    check.requireNonEmptyString(action, "queue", queue);
    this.#requireOpen(action);
    return await this.#command(action, (c) => ops.countJobs(c, this.keys(queue)));
  }

  /**
   * Ends waits, requeues jobs reserved ahead, flushes acks and waits for
   * unanswered settles (all within `closeTimeoutMs`), then closes both
   * connections. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#waiter.close();
      const deadline = performance.now() + this.#s.closeTimeoutMs;
      await withDeadline(Promise.allSettled([...this.#inFlight]), deadline);
      for (const entry of this.#reserver.takeAllStashed()) this.#putBack(entry);
      await withDeadline(Promise.allSettled([this.#acks.drain(), ...this.#inFlight]), deadline);
      this.#commands.close();
      this.#blocking.close();
    })();
    return this.#closing;
  }

  /** Requeues a job reserved ahead that will not be handed out (closing, or its lease ran low). */
  #putBack(entry: StashedJob): void {
    this.#settle("requeue a job", (c) => ops.requeueReservation(c, entry.reservation)).catch(() => {
      // Still reserved: it comes back after retryAfter.
    });
  }

  /** A command that fails fast (one reconnect attempt) with a one-line error. */
  #command<T>(action: string, body: (client: Redis) => Promise<T>): Promise<T> {
    const done = body(this.#commands.client).catch((error) => {
      throw this.#commands.describe(error, action);
    });
    return this.#track(done);
  }

  /** A settle: replayed after reconnects until it is answered or the queue closes. */
  #settle<T>(action: string, body: (client: Redis) => Promise<T>): Promise<T> {
    const client = this.#commands.client;
    return this.#track(
      retryUntilSettled(this.#commands, action, () => body(client), () => this.#replays++),
    );
  }

  #requireOpen(action: string): void {
    if (this.#closing) throw new Error(`Cannot ${action} as the queue is closed`);
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    this.#inFlight.add(operation);
    const forget = () => this.#inFlight.delete(operation);
    operation.then(forget, forget);
    return operation;
  }
}
