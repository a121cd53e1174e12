/** What the job processor needs from the daemon (injected, so it holds no loop state). */
import type { Clock } from "../clock.ts";
import type { ExceptionCounter, QueueDriver, ReservedJob } from "../drivers/driver.ts";
import type { EventBus, JobRef } from "../events.ts";
import { MemoryExceptionCounter } from "../drivers/memory_exception_counter.ts";
import { DeadlineSet } from "../executor/deadline_set.ts";
import type { runIsolated } from "../executor/subprocess_executor.ts";
import type { JobRegistry } from "../jobs/registry.ts";
import type { ResolvedDaemonOptions } from "./options.ts";
import { InlineTracker } from "./lag_watchdog.ts";
import { Semaphore } from "./slots.ts";

/** One job in hand. */
export interface Ticket {
  readonly reserved: ReservedJob;
  ref?: JobRef;
  /** Set by a forced shutdown that already requeued the job: the processor must not touch storage. */
  abandoned: boolean;
  /** Past its attempt, writing the outcome: a forced shutdown waits for it instead of requeueing. */
  settling: boolean;
  /** The inline attempt passed its timeout (still running): a forced shutdown counts the attempt. */
  timedOut?: boolean;
  /** The job's ack, until written: its lease is kept alive until then. */
  acking?: Promise<unknown>;
}

export interface ProcessorDeps {
  readonly driver: QueueDriver;
  readonly registry: JobRegistry;
  readonly exceptions: ExceptionCounter;
  readonly events: EventBus;
  readonly clock: Clock;
  readonly options: ResolvedDaemonOptions;
  readonly isolatedSlots: Semaphore;
  readonly runIsolated: typeof runIsolated;
  /** Aborted on a forced shutdown: children are killed. */
  readonly forceSignal: AbortSignal;
  /** Inline jobs that ran lately (the lag watchdog names them). */
  readonly inline: InlineTracker;
  /** The inline jobs' timeouts, on one timer. */
  readonly inlineDeadlines: DeadlineSet;
}

/** A daemon's deps: `runIsolated` is its pool's unless the options bring one (tests). */
export function createProcessorDeps(
  options: ResolvedDaemonOptions,
  events: EventBus,
  poolRun: typeof runIsolated,
  forceSignal: AbortSignal,
): ProcessorDeps {
  return {
    driver: options.driver,
    registry: options.registry,
    exceptions: options.exceptions ?? new MemoryExceptionCounter(),
    events,
    clock: options.clock,
    options,
    isolatedSlots: new Semaphore(options.isolatedConcurrency),
    runIsolated: options.runIsolated ?? poolRun,
    forceSignal,
    inline: new InlineTracker(),
    inlineDeadlines: new DeadlineSet(),
  };
}
