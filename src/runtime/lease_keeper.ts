/**
 * The main thread's side of lease extension: starts the supervisor Worker
 * (`lease_worker.ts`), tells it which reservations are in flight (through
 * the shared-memory mailbox, before any of their jobs starts, so even a job
 * that blocks the event loop at once is covered), drops them once settled, sends the
 * heartbeat it judges the main thread's liveness by, and lets the driver's
 * in-memory reservations follow the extensions. A supervisor that crashes is
 * started again and given every reservation still held.
 */
import type { LeaseSupport, QueueDriver, ReservedJob } from "../drivers/driver.ts";
import type { EventBus } from "../events.ts";
import { logFormat } from "../log_line.ts";
import { ownBytes } from "./lease_identity.ts";
import { LeaseOutbox } from "./lease_outbox.ts";
import type { FromSupervisor, LeaseTiming, ToSupervisor } from "./lease_protocol.ts";

const WORKER_URL = new URL("./lease_worker.ts", import.meta.url);
/** How long the supervisor may take to open its store connection. Milliseconds. */
const START_TIMEOUT_MS = 15_000;
/** Pause before a crashed supervisor is started again. Milliseconds. */
const RESTART_DELAY_MS = 500;
/**
 * The drops of reservations held by message (an identity too large for the
 * mailbox) go with the next such hold, or after this long: a message per
 * settled job cost ~10 % of a pooled isolated job's daemon CPU (measured),
 * and extending a settled reservation a little longer is harmless (its row
 * or member is gone, so the guarded write does nothing). Milliseconds.
 */
export const DROP_FLUSH_MS = 100;
/** How long stop() waits for the round in progress and the connection to close. Milliseconds. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * Makes `driver`'s reservations last the lease from now on and starts their
 * supervisor; undefined when leases are off. Rejects with a one-line error.
 */
export async function startLeases(
  driver: QueueDriver,
  timing: LeaseTiming | undefined,
  events: EventBus,
): Promise<LeaseKeeper | undefined> {
  const support = driver.leases;
  if (!timing || !support) return undefined;
  support.useLease(timing.leaseSeconds);
  try {
    return await LeaseKeeper.start(support, timing, events);
  } catch (error) {
    support.useLease(0);
    throw new Error(`Cannot start worker as ${(error as Error).message}`, { cause: error });
  }
}

export class LeaseKeeper {
  readonly #support: LeaseSupport;
  readonly #timing: LeaseTiming;
  readonly #events: EventBus;
  readonly #keys = new Map<ReservedJob, number>();
  readonly #jobs = new Map<number, ReservedJob>();
  #worker!: Worker;
  /** This Worker's mailbox (a new one per start). */
  #outbox!: LeaseOutbox;
  /** Keys held by message (see LeaseOutbox): their drops go by message too. */
  readonly #viaMessage = new Set<number>();
  #nextKey = 0;
  #drops: number[] = [];
  #dropFlush: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #stopped: (() => void) | undefined;
  #stopping = false;
  /** Set once the first start succeeded: only then is a crashed supervisor started again. */
  #running = false;
  #restartDelayMs = RESTART_DELAY_MS;
  /** Milliseconds from `new Worker` to its store connection being open (the first start). */
  startMs = 0;

  private constructor(support: LeaseSupport, timing: LeaseTiming, events: EventBus) {
    this.#support = support;
    this.#timing = timing;
    this.#events = events;
  }

  /** Starts the supervisor; rejects with a one-line error when it cannot open its connection. */
  static async start(
    support: LeaseSupport,
    timing: LeaseTiming,
    events: EventBus,
  ): Promise<LeaseKeeper> {
    const keeper = new LeaseKeeper(support, timing, events);
    const started = performance.now();
    await keeper.#spawn();
    keeper.#running = true;
    keeper.startMs = Math.round(performance.now() - started);
    // Several beats per liveness limit, so one late timer never looks like a wedged thread.
    const beatMs = Math.min(1000, Math.max(25, timing.livenessMs / 4));
    keeper.#heartbeat = setInterval(() => keeper.#post({ type: "alive" }), beatMs);
    Deno.unrefTimer(keeper.#heartbeat);
    return keeper;
  }

  /** For `worker:started`. */
  get info() {
    return {
      seconds: this.#timing.leaseSeconds,
      renewSeconds: this.#timing.renewMs / 1000,
      livenessLimitSeconds: this.#timing.livenessMs / 1000,
      supervisorStartMs: this.startMs,
    };
  }

  /** How many reservations are being kept alive. */
  get held(): number {
    return this.#jobs.size;
  }

  /** Keeps these reservations alive until `drop`ped (the Worker can read them before any job starts). */
  hold(jobs: readonly ReservedJob[]): void {
    if (jobs.length === 0 || this.#stopping) return;
    const byMessage: Array<[number, unknown]> = [];
    for (const job of jobs) {
      let identity: unknown;
      try {
        identity = this.#support.identityOf(job);
      } catch (error) {
        // Not this driver's reservation (cannot happen with its own jobs): run it unextended.
        this.#events.emit("store:error", { operation: "extend leases", error: error as Error });
        continue;
      }
      const key = ++this.#nextKey;
      this.#keys.set(job, key);
      this.#jobs.set(key, job);
      if (!this.#outbox.hold(key, identity)) byMessage.push([key, identity]);
    }
    this.#holdByMessage(byMessage);
  }

  /** The job is settled (or put back): no more extensions. Batched (see DROP_FLUSH_MS); idempotent. */
  drop(job: ReservedJob): void {
    const key = this.#keys.get(job);
    if (key === undefined) return;
    this.#keys.delete(job);
    this.#jobs.delete(key);
    if (!this.#viaMessage.delete(key)) return this.#outbox.drop(key);
    this.#drops.push(key);
    if (this.#dropFlush === undefined) {
      this.#dropFlush = setTimeout(() => this.#flushDrops(), DROP_FLUSH_MS);
      Deno.unrefTimer(this.#dropFlush);
    }
  }

  /** Stops extending, closes the supervisor's connection and ends the Worker. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#dropFlush);
    const stopped = new Promise<void>((resolve) => this.#stopped = resolve);
    this.#post({ type: "stop" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      stopped,
      new Promise((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
    this.#worker.terminate();
  }

  #holdByMessage(entries: Array<[number, unknown]>): void {
    if (entries.length === 0) return;
    for (const [key] of entries) this.#viaMessage.add(key);
    const drops = this.#takeDrops();
    const copies = entries.map(([key, identity]): [number, unknown] => [key, ownBytes(identity)]);
    this.#post({ type: "hold", entries: copies, ...(drops.length > 0 ? { drops } : {}) });
  }

  #flushDrops(): void {
    const keys = this.#takeDrops();
    if (keys.length > 0) this.#post({ type: "drop", keys });
  }

  #takeDrops(): number[] {
    clearTimeout(this.#dropFlush);
    this.#dropFlush = undefined;
    const keys = this.#drops;
    this.#drops = [];
    return keys;
  }

  #post(message: ToSupervisor): void {
    try {
      this.#worker.postMessage(message);
    } catch {
      // A Worker that crashed: its restart is given everything still held.
    }
  }

  /** Starts a Worker and waits for its connection; gives it every reservation still held. */
  #spawn(): Promise<void> {
    const worker = new Worker(WORKER_URL, { type: "module", name: "kqueue-leases" });
    this.#worker = worker;
    const outbox = this.#outbox = new LeaseOutbox(() => this.#post({ type: "drain" }));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.terminate();
        reject(
          new Error(
            `the lease supervisor did not open its store connection in ${
              START_TIMEOUT_MS / 1000
            } s`,
          ),
        );
      }, START_TIMEOUT_MS);
      worker.onmessage = ({ data }: MessageEvent<FromSupervisor>) => {
        if (data.type === "ready") {
          clearTimeout(timer);
          this.#restartDelayMs = RESTART_DELAY_MS;
          resolve();
        } else if (data.type === "start-failed") {
          clearTimeout(timer);
          worker.terminate();
          reject(
            new Error(`the lease supervisor could not open its store connection: ${data.message}`),
          );
        } else this.#onMessage(data);
      };
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        clearTimeout(timer);
        reject(new Error(`the lease supervisor crashed: ${event.message}`));
        this.#restart(event.message);
      };
      const { extender } = this.#support;
      worker.postMessage(
        {
          type: "start",
          moduleUrl: extender.moduleUrl,
          config: extender.config,
          mailbox: outbox.mailbox.buffer,
          logFormat: logFormat(),
          ...this.#timing,
        } satisfies ToSupervisor,
      );
      // A restart: everything still held goes to the new Worker.
      this.#viaMessage.clear();
      this.#drops = [];
      const byMessage: Array<[number, unknown]> = [];
      for (const [key, job] of this.#jobs) {
        const identity = this.#support.identityOf(job);
        if (!outbox.hold(key, identity)) byMessage.push([key, identity]);
      }
      this.#holdByMessage(byMessage);
    });
  }

  #onMessage(message: FromSupervisor): void {
    switch (message.type) {
      case "extended":
        for (const [key, value] of message.updates) {
          const job = this.#jobs.get(key);
          if (job) this.#support.extended(job, value);
        }
        break;
      case "store-error":
        this.#events.emit("store:error", {
          operation: "extend leases",
          error: new Error(message.message),
        });
        break;
      case "resumed":
        this.#events.emit("lease:paused", {
          silentMs: message.silentMs,
          livenessLimitMs: this.#timing.livenessMs,
        });
        break;
      case "drained":
        this.#outbox.drained();
        break;
      case "stopped":
        this.#stopped?.();
        break;
    }
  }

  /** Starts a crashed supervisor again, backing off while it keeps failing. */
  #restart(reason: string): void {
    if (this.#stopping || !this.#running) return;
    this.#events.emit("store:error", {
      operation: "extend leases",
      error: new Error(`the lease supervisor crashed (${reason}); starting it again`),
    });
    const delayMs = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(10_000, delayMs * 2);
    setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn().catch((error) => this.#restart((error as Error).message));
    }, delayMs);
  }
}
