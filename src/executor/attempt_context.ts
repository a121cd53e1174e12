/**
 * The context of one attempt, shared by the inline executor and the child
 * runner: an AbortSignal plus the release()/fail() calls a job can make.
 */
import { UnrecoverableError } from "../errors.ts";
import type { JobContext } from "../jobs/job.ts";
import type { AttemptOutcome } from "./outcome.ts";

export interface AttemptState {
  readonly context: JobContext;
  abort(reason: unknown): void;
  /** What the job asked for through release()/fail(), if anything (first call wins). */
  requested?: AttemptOutcome;
}

/**
 * The next attempt's controller, made once the previous attempt's handle() has
 * started (`prepareNextAttempt`): making one costs ~10 µs on a cold daemon,
 * which would otherwise sit between a job's wake-up and its start.
 */
let spareController: AbortController | undefined;

/** Makes the controller the next attempt will take; call it off the start path. */
export function prepareNextAttempt(): void {
  spareController ??= new AbortController();
}

export function createAttemptContext(
  info: Omit<JobContext, "signal" | "release" | "fail">,
): AttemptState {
  const controller = spareController ?? new AbortController();
  spareController = undefined;
  const state: AttemptState = {
    abort: (reason) => controller.abort(reason),
    context: {
      ...info,
      signal: controller.signal,
      release(delaySeconds = 0) {
        if (
          typeof delaySeconds !== "number" || !Number.isFinite(delaySeconds) || delaySeconds < 0
        ) {
          throw new RangeError(
            `Cannot release the job as the delay must be non-negative seconds: current value is ${delaySeconds}`,
          );
        }
        state.requested ??= { kind: "released", delaySeconds };
      },
      fail(error) {
        const reason = error instanceof Error ? error : new Error(error ?? "The job called fail()");
        state.requested ??= { kind: "failed", error: reason };
      },
    },
  };
  return state;
}

export function contextOutcome(state: AttemptState): AttemptOutcome | undefined {
  return state.requested;
}

/** What a thrown value means: an UnrecoverableError (by name, any copy) fails at once. */
export function thrownOutcome(thrown: unknown): AttemptOutcome {
  const error = toError(thrown);
  if (error instanceof UnrecoverableError || error.name === "UnrecoverableError") {
    return { kind: "failed", error };
  }
  return { kind: "error", error };
}

/** Anything thrown as an Error: `throw {name, message}` keeps both, other values are described. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (
    typeof thrown === "object" && thrown !== null && typeof (thrown as Error).message === "string"
  ) {
    const error = new Error((thrown as Error).message);
    if (typeof (thrown as Error).name === "string") error.name = (thrown as Error).name;
    return error;
  }
  if (typeof thrown === "string") return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown) ?? String(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`a non-Error value was thrown: ${text}`);
}
