/**
 * Runs a job on the daemon's own event loop. At the timeout the job's signal
 * is aborted and the attempt is recorded as timed out, but the promise keeps
 * its slot until it settles: JavaScript cannot stop a running function, and
 * releasing early would let a second attempt run beside the first.
 */
import { TimeoutExceededError } from "../errors.ts";
import { CONTEXT, type JobContext, type KQueueJob } from "../jobs/job.ts";
import type { AttemptOutcome } from "./outcome.ts";
import {
  contextOutcome,
  createAttemptContext,
  prepareNextAttempt,
  thrownOutcome,
} from "./attempt_context.ts";
import type { DeadlineSet } from "./deadline_set.ts";

export interface InlineRunOptions {
  /** Context fields for `handle()`. */
  readonly info: Omit<JobContext, "signal" | "release" | "fail">;
  readonly jobName: string;
  /** Milliseconds; 0 = no limit. */
  readonly timeoutMs: number;
  /** Where the timeout is kept (the daemon's, shared by its jobs); default: a timer of its own. */
  readonly deadlines?: DeadlineSet;
  /** Called when the timeout fires (the job may still be running). */
  readonly onTimeout?: () => void;
  /** Told how long the synchronous part of `handle()` ran (a long one blocked the event loop). */
  readonly onSynchronousPart?: (ms: number) => void;
}

export async function runInline(
  job: KQueueJob,
  options: InlineRunOptions,
): Promise<AttemptOutcome> {
  const attempt = createAttemptContext(options.info);
  job[CONTEXT] = attempt.context;
  let timedOut: TimeoutExceededError | undefined;
  const onTimeout = () => {
    timedOut = new TimeoutExceededError(
      `${options.jobName} has timed out after ${options.timeoutMs / 1000} s (timeout = ${
        options.timeoutMs / 1000
      })`,
    );
    attempt.abort(timedOut);
    options.onTimeout?.();
  };
  const cancelTimeout = options.timeoutMs > 0
    ? startTimeout(options.timeoutMs, onTimeout, options.deadlines)
    : undefined;
  let outcome: AttemptOutcome;
  try {
    const started = performance.now();
    const running = job.handle(attempt.context);
    options.onSynchronousPart?.(performance.now() - started);
    prepareNextAttempt();
    await running;
    outcome = contextOutcome(attempt) ?? { kind: "success" };
  } catch (error) {
    outcome = contextOutcome(attempt) ?? thrownOutcome(error);
  } finally {
    cancelTimeout?.();
  }
  return timedOut ? { kind: "timeout", error: timedOut } : outcome;
}

function startTimeout(ms: number, onTimeout: () => void, deadlines?: DeadlineSet): () => void {
  if (deadlines) return deadlines.add(ms, onTimeout);
  const timer = setTimeout(onTimeout, ms);
  return () => clearTimeout(timer);
}

/** Runs `failed(error)` inline; its own errors are returned, never thrown. */
export async function runFailedHookInline(
  job: KQueueJob,
  error: Error,
): Promise<Error | undefined> {
  if (typeof job.failed !== "function") return undefined;
  try {
    await job.failed(error);
    return undefined;
  } catch (hookError) {
    return hookError instanceof Error ? hookError : new Error(String(hookError));
  }
}
