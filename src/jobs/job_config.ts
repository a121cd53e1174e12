/**
 * Reads a job instance's config fields (validated) and its data fields
 * (everything else that is own and enumerable, which must be JSON-like).
 */
import { CONFIG_FIELDS, type ConfigField, type KQueueJob } from "./job.ts";
import {
  type JobPermissions,
  PERMISSION_KINDS,
  type PermissionList,
  UNSCOPED,
} from "./permissions.ts";

/** A job class's config, validated, in the units the runtime uses. */
export interface JobConfig {
  readonly tries?: number;
  readonly timeout?: number;
  /** Seconds per retry; the last entry repeats. */
  readonly backoff?: readonly number[];
  readonly maxExceptions?: number;
  readonly failOnTimeout: boolean;
  /** Unix seconds. */
  readonly retryUntil?: number;
  readonly isolated: boolean;
  readonly permissions: JobPermissions;
  readonly memoryLimit?: number;
  readonly queue?: string;
  readonly connection?: string;
  readonly delay?: number;
}

/** Below this an idle Deno child (~33 MB RSS) plus a job has no room. */
export const MIN_MEMORY_LIMIT_MB = 96;

const CONFIG_SET: ReadonlySet<string> = new Set(CONFIG_FIELDS);

export function isConfigField(name: string): name is ConfigField {
  return CONFIG_SET.has(name);
}

export function readJobConfig(job: KQueueJob, name: string): JobConfig {
  const where = (field: string) => `${name}.${field}`;
  const config: Record<string, unknown> = {
    failOnTimeout: requireBoolean(job.failOnTimeout, where("failOnTimeout")),
    isolated: requireBoolean(job.isolated, where("isolated")),
    permissions: readPermissions(job.permissions, where("permissions")),
  };
  optional(config, "tries", job.tries, (v) => nonNegativeInteger(v, where("tries")));
  optional(config, "timeout", job.timeout, (v) => nonNegativeNumber(v, where("timeout")));
  optional(
    config,
    "maxExceptions",
    job.maxExceptions,
    (v) => positiveInteger(v, where("maxExceptions")),
  );
  optional(config, "delay", job.delay, (v) => nonNegativeNumber(v, where("delay")));
  optional(config, "queue", job.queue, (v) => nonEmptyString(v, where("queue")));
  optional(config, "connection", job.connection, (v) => nonEmptyString(v, where("connection")));
  optional(config, "backoff", job.backoff, (v) => readBackoff(v, where("backoff")));
  optional(config, "memoryLimit", job.memoryLimit, (v) => {
    const mb = nonNegativeNumber(v, where("memoryLimit"));
    if (mb < MIN_MEMORY_LIMIT_MB) {
      throw new RangeError(
        `Cannot use ${
          where("memoryLimit")
        } as it must be at least ${MIN_MEMORY_LIMIT_MB} MB (an idle child uses ~33 MB): current value is ${mb}`,
      );
    }
    return mb;
  });
  optional(config, "retryUntil", job.retryUntil(), (v) => readRetryUntil(v, where("retryUntil()")));
  const result = config as unknown as JobConfig;
  if (!result.isolated && hasPermissions(result.permissions)) {
    throw new TypeError(
      `Cannot register ${name} as it declares permissions but is not isolated: an inline job runs with the daemon's own permissions; set isolated = true or remove permissions`,
    );
  }
  return result;
}

/** The job's data fields: own, enumerable, string-keyed, not config; validated JSON-like. */
export function extractJobData(job: object, name: string): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(job)) {
    if (isConfigField(key)) continue;
    const value = (job as Record<string, unknown>)[key];
    assertJsonLike(value, `${name}.${key}`, 0);
    data[key] = value;
  }
  return data;
}

/** Laravel's payload form of a backoff list: `[1, 5, 10]` → `"1,5,10"`. */
export function backoffToPayload(backoff: readonly number[] | undefined): string | null {
  return backoff === undefined ? null : backoff.join(",");
}

export function hasPermissions(permissions: JobPermissions): boolean {
  return PERMISSION_KINDS.some((kind) => {
    const list = permissions[kind];
    return list === UNSCOPED || (list?.length ?? 0) > 0;
  });
}

function readPermissions(value: unknown, where: string): JobPermissions {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `Cannot use ${where} as it must be an object of lists: current value is ${describe(value)}`,
    );
  }
  const out: Record<string, PermissionList> = {};
  for (const [kind, list] of Object.entries(value)) {
    if (!(PERMISSION_KINDS as readonly string[]).includes(kind)) {
      throw new TypeError(
        `Cannot use ${where}.${kind}: unknown permission (known: ${PERMISSION_KINDS.join(", ")})`,
      );
    }
    if (list === UNSCOPED) {
      // Checked against the daemon's opt-in when the daemon starts.
      out[kind] = UNSCOPED;
      continue;
    }
    if (!Array.isArray(list) || list.some((item) => typeof item !== "string" || item === "")) {
      throw new TypeError(
        `Cannot use ${where}.${kind} as it must be a list of non-empty strings, or "${UNSCOPED}" for an unscoped grant: current value is ${
          describe(list)
        }`,
      );
    }
    out[kind] = [...list];
  }
  return out as JobPermissions;
}

function readBackoff(value: unknown, where: string): readonly number[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new RangeError(`Cannot use ${where} as it is an empty list`);
  return list.map((item, i) => nonNegativeNumber(item, `${where}[${i}]`));
}

/** The job's `retryUntil()` now, in unix seconds (undefined when it sets none). */
export function retryUntilOf(job: KQueueJob, name: string): number | undefined {
  const value = job.retryUntil();
  return value === undefined || value === null
    ? undefined
    : readRetryUntil(value, `${name}.retryUntil()`);
}

function readRetryUntil(value: unknown, where: string): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) {
      throw new RangeError(`Cannot use ${where} as it returned an invalid Date`);
    }
    return Math.floor(ms / 1000);
  }
  const seconds = nonNegativeNumber(value, where);
  if (seconds > 1e11) {
    throw new RangeError(
      `Cannot use ${where} as it must be unix seconds or a Date: ${seconds} looks like milliseconds`,
    );
  }
  return Math.floor(seconds);
}

function assertJsonLike(value: unknown, where: string, depth: number): void {
  if (depth > 64) throw new TypeError(`Cannot serialize ${where}: nested deeper than 64 levels`);
  if (
    value === null || typeof value === "string" || typeof value === "boolean" ||
    typeof value === "bigint"
  ) return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
    throw new TypeError(`Cannot serialize ${where}: ${value} is not JSON-like`);
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertJsonLike(item, `${where}[${i}]`, depth + 1));
    return;
  }
  if (typeof value === "object" && isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      assertJsonLike(item, `${where}.${key}`, depth + 1);
    }
    return;
  }
  const hint = value === undefined ? " (use null)" : "";
  throw new TypeError(`Cannot serialize ${where}: ${describe(value)} is not JSON-like${hint}`);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function optional(
  into: Record<string, unknown>,
  key: string,
  value: unknown,
  read: (value: unknown) => unknown,
): void {
  if (value !== undefined && value !== null) into[key] = read(value);
}

function requireBoolean(value: unknown, where: string): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot use ${where} as it must be a boolean: current value is ${describe(value)}`,
    );
  }
  return value;
}

function nonNegativeNumber(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(
      `Cannot use ${where} as it must be a non-negative number: current value is ${
        describe(value)
      }`,
    );
  }
  return value;
}

function nonNegativeInteger(value: unknown, where: string): number {
  const n = nonNegativeNumber(value, where);
  if (!Number.isInteger(n)) {
    throw new RangeError(`Cannot use ${where} as it must be an integer: current value is ${n}`);
  }
  return n;
}

function positiveInteger(value: unknown, where: string): number {
  const n = nonNegativeInteger(value, where);
  if (n === 0) {
    throw new RangeError(
      `Cannot use ${where} as it must be a positive integer: current value is 0`,
    );
  }
  return n;
}

function nonEmptyString(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot use ${where} as it must be a non-empty string: current value is ${describe(value)}`,
    );
  }
  return value;
}

export function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  if (typeof value === "symbol") return "a symbol";
  if (value instanceof Date) return "a Date";
  if (value instanceof Map) return "a Map";
  if (value instanceof Set) return "a Set";
  if (
    typeof value === "object" && value !== null && !Array.isArray(value) && !isPlainObject(value)
  ) {
    return `an instance of ${value.constructor?.name ?? "a class"}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
