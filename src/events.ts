/**
 * Typed events out of the core. The CLI output, the JSON log and the demo all
 * subscribe; a listener that throws is reported to stderr and never breaks the loop.
 * Sits at the bottom of the import graph: every stage emits, none imports the runtime.
 */
import { stderrLine } from "./log_line.ts";

/** Which job an event is about. */
export interface JobRef {
  /** Storage id. */
  readonly id: string;
  readonly uuid: string;
  /** Registered job name, or the payload's displayName when the job is unknown. */
  readonly name: string;
  readonly queue: string;
  readonly connection: string;
  /** Attempt number (1 on the first run). */
  readonly attempt: number;
}

/** The storage writes that end a reservation: `QueueDriver.ack`, `release`, `requeue`, `fail`. */
export type SettleOperation = "ack" | "release" | "requeue" | "fail";

/** Why the daemon stopped (a closed set, like Laravel's WorkerStopReason). */
export type StopReason =
  | "signal"
  | "forced"
  | "once"
  | "empty"
  | "drained"
  | "max-jobs"
  | "max-time"
  | "memory"
  | "store-lost"
  | "aborted";

/** Why an isolated job's child ended: retired (maxJobsPerChild), past the RSS threshold, idle too long, a failed health check, a failed start, anything else (a timeout, kill, crash or protocol break), or the daemon's shutdown. */
export type ChildExitReason =
  | "retired"
  | "rss"
  | "idle"
  | "unhealthy"
  | "start-failed"
  | "ended"
  | "shutdown";

export interface KQueueEvents {
  "worker:started": {
    readonly connection: string;
    readonly queues: readonly string[];
    readonly concurrency: number;
    readonly isolatedConcurrency: number;
    /** Lease extension, when on (seconds; the supervisor Worker's start-up in ms). */
    readonly lease?: {
      readonly seconds: number;
      readonly renewSeconds: number;
      readonly livenessLimitSeconds: number;
      readonly supervisorStartMs: number;
    };
  };
  "worker:stopping": {
    readonly reason: StopReason;
    readonly inFlight: number;
    /** What tripped the stop, when there is more to say (`RSS 131 MB ≥ --memory 128 MB`). */
    readonly detail?: string;
  };
  "worker:stopped": {
    readonly reason: StopReason;
    readonly exitCode: number;
    readonly processed: number;
    /** The longest the daemon's event loop was blocked during the run, in ms. */
    readonly maxLagMs: number;
  };
  /** The event loop was blocked; `inlineJobs` were running at the time (the culprit is among them). */
  "worker:lag": { readonly lagMs: number; readonly inlineJobs: readonly JobRef[] };
  /**
   * An error nobody caught (a throw in a job's timer, a rejection nobody
   * awaited): reported, and the daemon keeps running. `inlineJobs` were running.
   */
  "worker:uncaught": { readonly error: Error; readonly inlineJobs: readonly JobRef[] };
  /**
   * The main thread did not answer the lease supervisor for `silentMs` (past
   * the liveness limit), so lease extension paused meanwhile: jobs in flight
   * may have been taken over by another worker (their outcome is then not written).
   */
  "lease:paused": { readonly silentMs: number; readonly livenessLimitMs: number };
  /**
   * A storage operation failed (the daemon retries). `refused`: the store
   * answered with an error (an ACL, OOM, a script error), so it is no outage:
   * reported once until the reply changes, and `--store-timeout` does not apply.
   */
  "store:error": {
    readonly operation: string;
    readonly error: Error;
    readonly refused?: boolean;
    /**
     * Given up on (the queue closing, a forced stop, a bad call): the job
     * stays reserved and comes back when its reservation lapses. Unset: retried.
     */
    readonly givenUp?: boolean;
  };
  /** Reserving works again after failing for `downMs` (an outage, or refusals). */
  "store:recovered": { readonly operation: string; readonly downMs: number };
  /**
   * A queue's storage is unusable as it is (`problem`: what is wrong and what
   * to do): the daemon leaves its jobs where they are, serves the other
   * queues, and tries it again every `recheckSeconds`. Once per distinct problem.
   */
  "queue:set-aside": {
    readonly queue: string;
    readonly problem: string;
    readonly recheckSeconds: number;
  };
  /** A set-aside queue reserved fine again (after `setAsideMs`): it is served as before. */
  "queue:restored": { readonly queue: string; readonly setAsideMs: number };
  "job:started": { readonly job: JobRef; readonly isolated: boolean };
  "job:done": { readonly job: JobRef; readonly durationMs: number };
  /** The attempt failed but the job will run again after `delaySeconds`. */
  "job:released": {
    readonly job: JobRef;
    readonly delaySeconds: number;
    readonly error?: Error;
    readonly durationMs: number;
  };
  /** The job failed for good: its `failed_jobs` row is written. */
  "job:failed": { readonly job: JobRef; readonly error: Error; readonly durationMs: number };
  /** An inline attempt passed its timeout; its signal was aborted (it keeps its slot until it settles). */
  "job:timeout": { readonly job: JobRef; readonly timeoutSeconds: number };
  /** Put back untouched (shutdown, or refused to start): the attempt was not counted. */
  "job:requeued": { readonly job: JobRef; readonly reason: string };
  /**
   * A settle found the job taken over by another worker (our reservation had
   * lapsed): `operation` wrote nothing. After an `ack`, `job:done` was already
   * reported (the job succeeded here, and the other worker may run it again);
   * after a `release`, `requeue` or `fail`, no `job:released`, `job:requeued`
   * or `job:failed` follows (no `failed_jobs` row, no `failed()` call).
   */
  "job:reservation-lost": { readonly job: JobRef; readonly operation: SettleOperation };
  /** A line an isolated job wrote to stdout/stderr. */
  "job:output": {
    readonly job: JobRef;
    readonly stream: "stdout" | "stderr";
    readonly line: string;
  };
  /** The job's failed() hook threw. */
  "job:failed-hook-error": { readonly job: JobRef; readonly error: Error };
  /** A child of isolated job class `job` loaded it and is ready for jobs (`startMs` after spawn). */
  "child:started": { readonly job: string; readonly pid: number; readonly startMs: number };
  /** A child of isolated job class `job` exited after running `jobsRun` jobs to a clean result. */
  "child:exited": {
    readonly job: string;
    readonly pid: number;
    readonly jobsRun: number;
    readonly reason: ChildExitReason;
    readonly code: number;
    readonly signal: string | null;
  };
  /** A child of `job` failed to start (its module threw at import, …): no new one for `retryInMs`. */
  "child:start-failed": { readonly job: string; readonly error: Error; readonly retryInMs: number };
}

export type EventName = keyof KQueueEvents;
type Listener<K extends EventName> = (event: KQueueEvents[K]) => void;

export class EventBus {
  #listeners = new Map<EventName, Set<Listener<never>>>();

  on<K extends EventName>(name: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, set = new Set());
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** True when someone listens (lets hot paths skip building events). */
  has(name: EventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends EventName>(name: K, event: KQueueEvents[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<K>)(event);
      } catch (error) {
        console.error(stderrLine(
          "ERROR",
          `kqueue: a listener for ${name} threw: ${(error as Error)?.message ?? error}`,
        ));
      }
    }
  }
}
