/**
 * What one attempt came to. Produced by the executors (inline, subprocess),
 * consumed by the retry policy. Executors never touch storage.
 */
import type {
  ChildCrashedError,
  MemoryLimitExceededError,
  PermissionDeniedError,
  TimeoutExceededError,
} from "../errors.ts";

export type AttemptOutcome =
  /** `handle()` returned. */
  | { readonly kind: "success" }
  /** `handle()` threw (or rejected). */
  | { readonly kind: "error"; readonly error: Error }
  /** The job called `release(delay)`. */
  | { readonly kind: "released"; readonly delaySeconds: number }
  /** The job called `fail(error)`, or threw an `UnrecoverableError`. */
  | { readonly kind: "failed"; readonly error: Error }
  /** The attempt ran past its timeout (the child was killed, or the inline signal aborted). */
  | { readonly kind: "timeout"; readonly error: TimeoutExceededError }
  /** The child exited without a result, was killed by a signal, or broke the protocol. */
  | { readonly kind: "crashed"; readonly error: ChildCrashedError }
  /** The child went past its memory limit (RSS poll, or V8 heap limit). */
  | { readonly kind: "memory"; readonly error: MemoryLimitExceededError }
  /** The job touched something its permissions did not declare. */
  | { readonly kind: "denied"; readonly error: PermissionDeniedError };

export type OutcomeKind = AttemptOutcome["kind"];
