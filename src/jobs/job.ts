/**
 * The job base class: Laravel's job shape in TypeScript.
 *
 * Own fields are the job's data (what PHP would serialize), except the fixed
 * config names in `CONFIG_FIELDS`. This module must stay light: every isolated
 * child loads it, so it imports no storage driver (dispatch loads one lazily).
 */
import type { JobPermissions } from "./permissions.ts";

/** Marks job classes; a brand, not `instanceof`, so a second copy of this module still matches. */
export const JOB_BRAND: unique symbol = Symbol.for("kqueue.job") as never;
/** Present (as an own static) only on the base class itself. */
const BASE_MARK = Symbol.for("kqueue.job.base");
/** Where the runtime keeps the running attempt's context; a symbol, so it is never data. */
export const CONTEXT = Symbol.for("kqueue.job.context");

/** What the runtime tells a running attempt; also passed to `handle()`. */
export interface JobContext {
  /** Aborted at the job's timeout and on a forced shutdown. */
  readonly signal: AbortSignal;
  /** This attempt's number: 1 on the first run (Laravel's `attempts()`). */
  readonly attempt: number;
  /** Storage id (changes on a database release). */
  readonly jobId: string;
  /** The payload uuid: the job's permanent identity. */
  readonly uuid: string;
  readonly queue: string;
  readonly connection: string;
  /** Ask to be retried after `delaySeconds` (Laravel's `$this->release()`); this attempt counts. */
  release(delaySeconds?: number): void;
  /** Fail the job now, without retrying (Laravel's `$this->fail()`). */
  fail(error?: Error | string): void;
}

export interface DispatchOptions {
  /** Queue name. @default the class's `queue`, else the connection's default queue */
  readonly queue?: string;
  /** Seconds before it may run. @default the class's `delay`, else 0 */
  readonly delay?: number;
  /** Connection name (`database`). @default the class's `connection`, else `QUEUE_CONNECTION` */
  readonly connection?: string;
}

export interface DispatchResult {
  /** Storage id. */
  readonly id: string;
  readonly uuid: string;
  readonly queue: string;
}

/** A concrete job class. */
export type JobClass<T extends KQueueJob = KQueueJob> = (new () => T) & {
  readonly laravel?: string;
  readonly phpVisibility?: Readonly<Record<string, "public" | "protected" | "private">>;
  readonly name: string;
  readonly prototype: T;
};

/** The data fields of a job (own non-function fields that are not config). */
export type JobData<T> = Partial<
  {
    // deno-lint-ignore ban-types
    [K in keyof T as T[K] extends Function ? never : K extends ConfigField ? never : K]: T[K];
  }
>;

/** Fields that configure the job rather than carry its data. */
export const CONFIG_FIELDS = [
  "tries",
  "timeout",
  "backoff",
  "maxExceptions",
  "failOnTimeout",
  "retryUntil",
  "isolated",
  "permissions",
  "memoryLimit",
  "queue",
  "connection",
  "delay",
] as const;
export type ConfigField = typeof CONFIG_FIELDS[number];

export abstract class KQueueJob {
  static readonly [JOB_BRAND] = true;
  static readonly [BASE_MARK] = true;
  /** The Laravel class this job serves (e.g. `App\\Jobs\\SendEmail`); also registers it under that name. */
  static laravel?: string;
  /**
   * How the Laravel class declares its properties, for fields that are not
   * public (`{ locale: "protected" }`): Laravel's `SerializesModels` only sets
   * protected/private properties from their PHP-mangled names. @default all public
   */
  static phpVisibility?: Readonly<Record<string, "public" | "protected" | "private">>;

  /** Run in a permission-narrowed subprocess instead of on the event loop. */
  isolated = false;
  /** What an isolated job may touch (refused on inline jobs: they would look sandboxed and are not). */
  permissions: JobPermissions = {};
  /** Attempts allowed; 0 = unlimited. @default the `--tries` flag (1) */
  tries?: number;
  /** Seconds an attempt may run. @default the `--timeout` flag (60) */
  timeout?: number;
  /** Seconds before each retry; a list gives one per attempt, the last repeating. @default `--backoff` (0) */
  backoff?: number | readonly number[];
  /** Fail after this many exceptions, even if `tries` allows more. */
  maxExceptions?: number;
  /** A timeout fails the job at once instead of retrying. */
  failOnTimeout = false;
  /** MB of memory (RSS) an isolated child may use; at least 96. */
  memoryLimit?: number;
  /** Default queue for dispatch. */
  queue?: string;
  /** Default connection for dispatch. */
  connection?: string;
  /** Default dispatch delay in seconds. */
  delay?: number;

  /** When retries stop (wins over `tries`, as in Laravel): a Date, or unix seconds. */
  retryUntil(): Date | number | undefined {
    return undefined;
  }

  /** The work. Throw to fail this attempt. */
  abstract handle(context: JobContext): void | Promise<void>;

  /** Called once, when the job has finally failed. */
  failed?(error: Error): void | Promise<void>;

  /** The running attempt's context (set by the runtime before `handle()`). */
  declare [CONTEXT]?: JobContext;

  /** Laravel's `$this->attempts()`. */
  attempts(): number {
    return this.#context().attempt;
  }

  /** Laravel's `$this->release($delay)`. */
  release(delaySeconds = 0): void {
    this.#context().release(delaySeconds);
  }

  /** Laravel's `$this->fail($error)`. */
  fail(error?: Error | string): void {
    this.#context().fail(error);
  }

  /** Aborted at the timeout. */
  get signal(): AbortSignal {
    return this.#context().signal;
  }

  #context(): JobContext {
    const context = this[CONTEXT];
    if (!context) {
      throw new Error(
        "This job is not running: attempts(), release(), fail() need a running attempt",
      );
    }
    return context;
  }

  /** Dispatches a job of this class with the given data. */
  static async dispatch<T extends KQueueJob>(
    this: new () => T,
    data: JobData<T> = {},
    options: DispatchOptions = {},
  ): Promise<DispatchResult> {
    const { dispatchJob } = await import("../dispatch.ts");
    return dispatchJob(this as unknown as JobClass<T>, data as Record<string, unknown>, options);
  }
}

/** True for a concrete job class (any copy of this module), false for the base itself. */
export function isJobClass(value: unknown): value is JobClass {
  if (typeof value !== "function") return false;
  const branded = (value as unknown as Record<symbol, unknown>)[JOB_BRAND] === true;
  return branded && !Object.hasOwn(value, BASE_MARK);
}
