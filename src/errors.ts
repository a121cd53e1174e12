/**
 * Named errors that callers act on. Bad options and bad input use the
 * built-in TypeError / RangeError; these are the outcomes of a job attempt,
 * and the store's answers that the daemon treats differently from an outage.
 */

/** Base for every KQueue error, so `instanceof KQueueError` finds them all. */
export class KQueueError extends Error {
  override name = "KQueueError";
}

/** The job ran out of attempts (or past `retryUntil`) before it could run again. */
export class MaxAttemptsExceededError extends KQueueError {
  override name = "MaxAttemptsExceededError";
}

/** An attempt ran past its `timeout`. */
export class TimeoutExceededError extends KQueueError {
  override name = "TimeoutExceededError";
}

/** An isolated job's child went past its `memoryLimit` (RSS or V8 heap). */
export class MemoryLimitExceededError extends KQueueError {
  override name = "MemoryLimitExceededError";
}

/** An isolated job touched something its `permissions` did not declare. */
export class PermissionDeniedError extends KQueueError {
  override name = "PermissionDeniedError";
}

/** The child process died (signal, odd exit code) or broke the protocol. */
export class ChildCrashedError extends KQueueError {
  override name = "ChildCrashedError";
}

/** A payload that cannot be decoded, or that names no registered job. */
export class PayloadError extends KQueueError {
  override name = "PayloadError";
}

/** Throw it from `handle()` to fail the job now, whatever `tries` says. */
export class UnrecoverableError extends KQueueError {
  override name = "UnrecoverableError";
}

/**
 * One queue's storage cannot be used as it is (a Redis key of the wrong
 * type): nothing was moved. The daemon sets that queue aside, serves the
 * others, and checks it again now and then.
 */
export class QueueUnusableError extends KQueueError {
  override name = "QueueUnusableError";

  constructor(
    /** The plain queue name (`default`). */
    readonly queue: string,
    /** What is wrong and what to do ("Redis key queues:default is a string, not a list: …"). */
    readonly problem: string,
  ) {
    super(`Cannot reserve jobs from queue '${queue}' as ${problem}`);
  }
}

/**
 * The store answered, but refused the operation (an ACL, OOM, MISCONF, a
 * script error): it is reachable, so this is not an outage.
 */
export class StoreRefusedError extends KQueueError {
  override name = "StoreRefusedError";
}

/**
 * The store could not be reached (Redis refused the connection or timed out,
 * the database stayed locked): an outage, not bad input. At start-up the CLI
 * exits 1 for it (2 is for bad flags and config).
 */
export class StoreUnreachableError extends KQueueError {
  override name = "StoreUnreachableError";
}

/** The plain shape in which an error crosses a process boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  cause?: SerializedError;
}

/** Turns anything thrown into a SerializedError (causes included, depth-limited). */
export function serializeError(thrown: unknown, depth = 0): SerializedError {
  if (thrown instanceof Error) {
    const out: SerializedError = { name: thrown.name, message: thrown.message };
    if (thrown.stack) out.stack = thrown.stack;
    if (thrown.cause !== undefined && depth < 5) {
      out.cause = serializeError(thrown.cause, depth + 1);
    }
    return out;
  }
  return { name: "Error", message: typeof thrown === "string" ? thrown : safeString(thrown) };
}

const NAMED: Record<string, new (message: string) => Error> = {
  MaxAttemptsExceededError,
  TimeoutExceededError,
  MemoryLimitExceededError,
  PermissionDeniedError,
  ChildCrashedError,
  PayloadError,
  UnrecoverableError,
};

/** Rebuilds an Error from its serialized form, keeping name, message and stack. */
export function deserializeError(data: SerializedError): Error {
  const Ctor = NAMED[data.name];
  const error = Ctor ? new Ctor(data.message) : new Error(data.message);
  if (!Ctor) error.name = data.name;
  if (data.stack) error.stack = data.stack;
  if (data.cause) error.cause = deserializeError(data.cause);
  return error;
}

/**
 * The text written to `failed_jobs.exception`: the stack (which starts with
 * "Name: message"), then each cause as "Caused by: …", like Laravel's "Next …".
 */
export function formatException(error: Error): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 6; depth++) {
    const e = current instanceof Error ? current : new Error(safeString(current));
    const head = e.stack && e.stack.includes(e.message) ? e.stack : `${e.name}: ${e.message}`;
    parts.push(depth === 0 ? head : `Caused by: ${head}`);
    current = e.cause;
  }
  return parts.join("\n");
}

function safeString(value: unknown): string {
  try {
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
