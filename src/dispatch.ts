/**
 * Dispatching from code: a job class plus data → a Laravel-shaped payload on
 * a queue connection. Connections are opened lazily from the environment
 * (QUEUE_CONNECTION, DB_DATABASE …) unless one was set with useConnection().
 */
import { type DispatchOptions, type DispatchResult, type JobClass } from "./jobs/job.ts";
import {
  extractJobData,
  isConfigField,
  type JobConfig,
  readJobConfig,
  retryUntilOf,
} from "./jobs/job_config.ts";
import { jobNameOf } from "./jobs/registry.ts";
import { buildPayloadText, MAX_PAYLOAD_BYTES } from "./payload/laravel_payload.ts";
import { serializeJobCommand } from "./payload/php_serialize.ts";
import { openConnection, type QueueConnection } from "./connection.ts";
import { checkDueTime } from "./drivers/due_time.ts";

const connections = new Map<string, Promise<QueueConnection>>();
let defaultName: string | undefined;

/** Makes `connection` the one dispatch() uses for its name (and the default, unless `asDefault` is false). */
export function useConnection(connection: QueueConnection, asDefault = true): void {
  connections.set(connection.name, Promise.resolve(connection));
  if (asDefault) defaultName = connection.name;
}

/** Closes the connections dispatch() opened or was given. */
export async function closeConnections(): Promise<void> {
  const open = [...connections.values()];
  connections.clear();
  defaultName = undefined;
  for (const connection of open) await (await connection).close();
}

export async function getConnection(name?: string): Promise<QueueConnection> {
  const key = name ?? defaultName ?? "";
  let connection = connections.get(key);
  if (!connection) {
    connection = openConnection({ ...(name ? { name } : {}) });
    connections.set(key, connection);
    connection.then(
      (c) => connections.set(c.name, Promise.resolve(c)),
      () => connections.delete(key),
    );
  }
  return await connection;
}

/** One job's payload text and where it goes. */
export interface PreparedDispatch {
  readonly payload: string;
  readonly uuid: string;
  readonly queue?: string;
  readonly delay: number;
  readonly connection?: string;
}

/** What dispatch learns once per class: its fields and its config (data can never change config). */
interface ClassPlan {
  readonly declared: ReadonlySet<string>;
  /** The fields' defaults, whose primitive types the data must keep (as hydrate checks). */
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly config: JobConfig;
  readonly visibility: Record<string, "public" | "protected" | "private">;
}

const plans = new WeakMap<JobClass, ClassPlan>();

function planOf(Class: JobClass, name: string): ClassPlan {
  let plan = plans.get(Class);
  if (!plan) {
    const job = new Class();
    plan = {
      declared: new Set(Object.keys(job)),
      defaults: { ...job } as Record<string, unknown>,
      config: readJobConfig(job, name),
      visibility: { ...Class.phpVisibility },
    };
    plans.set(Class, plan);
  }
  return plan;
}

/** Builds the payload for a job of `Class` with `data` (validated: unknown fields and non-JSON values are refused). */
export function prepareDispatch(
  Class: JobClass,
  data: Record<string, unknown>,
  options: DispatchOptions = {},
): PreparedDispatch {
  const name = jobNameOf(Class);
  const { declared, config, visibility, defaults } = planOf(Class, name);
  for (const key of Object.keys(data)) {
    if (isConfigField(key)) {
      throw new TypeError(
        `Cannot dispatch ${name}: "${key}" is config, not data; set it on the class (or pass queue/delay/connection as dispatch options)`,
      );
    }
    if (!declared.has(key)) {
      throw new TypeError(
        `Cannot dispatch ${name}: it has no field "${key}" (data fields: ${
          [...declared].filter((k) => !isConfigField(k)).join(", ") || "none"
        })`,
      );
    }
    checkFieldType(name, key, data[key], defaults[key]);
  }
  const job = Object.assign(new Class(), data);
  const command = serializeJobCommand(name, extractJobData(job, name), visibility);
  const retryUntil = retryUntilOf(job, name); // evaluated now, as Laravel does at dispatch
  const uuid = crypto.randomUUID();
  const payload = buildPayloadText({
    uuid,
    name,
    command,
    ...(config.tries !== undefined ? { maxTries: config.tries } : {}),
    ...(config.maxExceptions !== undefined ? { maxExceptions: config.maxExceptions } : {}),
    failOnTimeout: config.failOnTimeout,
    ...(config.backoff !== undefined ? { backoff: config.backoff } : {}),
    ...(config.timeout !== undefined ? { timeout: config.timeout } : {}),
    ...(retryUntil !== undefined ? { retryUntil } : {}),
  });
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(
      `Cannot dispatch ${name}: its payload is ${payload.length} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit`,
    );
  }
  const delay = options.delay ?? config.delay ?? 0;
  if (!Number.isFinite(delay) || delay < 0) {
    throw new RangeError(
      `Cannot dispatch ${name} as 'delay' must be non-negative seconds: current value is ${delay}`,
    );
  }
  checkDueTime(`Cannot dispatch ${name}: a delay of ${delay} seconds`, Date.now(), delay);
  const queue = options.queue ?? config.queue;
  if (queue !== undefined && (queue.trim() === "" || /[,\s]/.test(queue))) {
    throw new TypeError(
      `Cannot dispatch ${name} to queue ${
        JSON.stringify(queue)
      }: a queue name has no commas or spaces (workers split --queue on commas)`,
    );
  }
  const connection = options.connection ?? config.connection;
  return {
    payload,
    uuid,
    delay,
    ...(queue ? { queue } : {}),
    ...(connection ? { connection } : {}),
  };
}

export async function dispatchJob(
  Class: JobClass,
  data: Record<string, unknown>,
  options: DispatchOptions = {},
): Promise<DispatchResult> {
  const prepared = prepareDispatch(Class, data, options);
  const connection = await getConnection(prepared.connection);
  const queue = prepared.queue ?? connection.defaultQueue;
  const id = await connection.driver.push(queue, prepared.payload, { delay: prepared.delay });
  return { id, uuid: prepared.uuid, queue };
}

/**
 * A string, number or boolean field takes only that type (or null), as the
 * worker's hydrate will insist: refused at dispatch, not after a round trip.
 */
function checkFieldType(name: string, key: string, value: unknown, current: unknown): void {
  const expected = typeof current;
  if (
    value === null || (expected !== "string" && expected !== "number" && expected !== "boolean")
  ) {
    return;
  }
  const actual: string = typeof value;
  if (actual === expected) return;
  const got = Array.isArray(value)
    ? "an array"
    : value === undefined
    ? "undefined"
    : `a ${typeof value}`;
  throw new TypeError(
    `Cannot dispatch ${name}: "${key}" is a ${expected} field (by its default), got ${got}`,
  );
}
