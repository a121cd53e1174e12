/**
 * Up-front checks for options and arguments, in one voice:
 * "Cannot open queue as 'retryAfter' must be a positive number: current value is 0".
 * A wrong type is a TypeError, a value out of range a RangeError.
 */
import { checkDueTime } from "../due_time.ts";

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) {
    const text = JSON.stringify(value);
    return text.length <= 60 ? text : "an array";
  }
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

function fail(action: string, name: string, what: string, value: unknown, Kind: typeof Error) {
  return new Kind(`Cannot ${action} as '${name}' must be ${what}: current value is ${show(value)}`);
}

export function requireNumber(action: string, name: string, value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw fail(action, name, "a number", value, TypeError);
  }
  return value;
}

export function requirePositiveNumber(action: string, name: string, value: unknown): number {
  requireNumber(action, name, value);
  if (!((value as number) > 0) || !Number.isFinite(value)) {
    throw fail(action, name, "a positive number", value, RangeError);
  }
  return value as number;
}

export function requireNonNegativeNumber(action: string, name: string, value: unknown): number {
  requireNumber(action, name, value);
  if (!((value as number) >= 0) || !Number.isFinite(value)) {
    throw fail(action, name, "a non-negative number", value, RangeError);
  }
  return value as number;
}

/** A delay in seconds from `nowMs` that keeps the job due by LAST_DUE_TIME (see due_time.ts). */
export function requireDelay(action: string, name: string, value: unknown, nowMs: number): number {
  const delay = requireNonNegativeNumber(action, name, value);
  checkDueTime(`Cannot ${action}: a delay of ${delay} seconds`, nowMs, delay);
  return delay;
}

/** A non-negative number of milliseconds; `Infinity` allowed (no limit). */
export function requireDuration(action: string, name: string, value: unknown): number {
  requireNumber(action, name, value);
  if (!((value as number) >= 0)) {
    throw fail(action, name, "a non-negative number", value, RangeError);
  }
  return value as number;
}

export function requirePositiveInteger(action: string, name: string, value: unknown): number {
  requireNumber(action, name, value);
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw fail(action, name, "a positive integer", value, RangeError);
  }
  return value as number;
}

export function requireNonEmptyString(action: string, name: string, value: unknown): string {
  if (typeof value !== "string") throw fail(action, name, "a string", value, TypeError);
  if (value === "") throw fail(action, name, "a non-empty string", value, RangeError);
  return value;
}

export function requireString(action: string, name: string, value: unknown): string {
  if (typeof value !== "string") throw fail(action, name, "a string", value, TypeError);
  return value;
}

export function requireBoolean(action: string, name: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw fail(action, name, "a boolean", value, TypeError);
  return value;
}

export function requireFunction<T>(action: string, name: string, value: T): T {
  if (typeof value !== "function") throw fail(action, name, "a function", value, TypeError);
  return value;
}

/** Table names are spliced into SQL, so only plain identifiers are accepted. */
export function requireTableName(action: string, name: string, value: unknown): string {
  requireNonEmptyString(action, name, value);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value as string)) {
    throw fail(action, name, "a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*)", value, RangeError);
  }
  return value as string;
}

/** A non-empty list of non-empty queue names. */
export function requireQueueNames(action: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw fail(action, "queues", "an array of names", value, TypeError);
  if (value.length === 0) throw fail(action, "queues", "a non-empty array", value, RangeError);
  for (const queue of value) requireNonEmptyString(action, "queues[]", queue);
  return value;
}

/** Storage ids of the `jobs` table travel as strings (`ReservedJob.id`). */
export function parseJobId(action: string, id: unknown): number {
  const parsed = typeof id === "string" && /^[1-9][0-9]*$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(parsed)) {
    throw fail(action, "job.id", "a jobs.id row id", id, TypeError);
  }
  return parsed;
}

/** The guard of a reserved job: the (id, reserved_at, attempts) our reservation wrote. */
export function reservationOf(
  action: string,
  job: { readonly id: string; readonly reservedAt: number; readonly attempts: number },
): readonly [id: number, reservedAt: number, attempts: number] {
  if (job === null || typeof job !== "object") {
    throw fail(action, "job", "a reserved job", job, TypeError);
  }
  return [
    parseJobId(action, job.id),
    requireNumber(action, "job.reservedAt", job.reservedAt),
    requireNumber(action, "job.attempts", job.attempts),
  ];
}
