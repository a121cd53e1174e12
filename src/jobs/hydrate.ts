/**
 * Builds a job instance from a payload's `data.command` (PHP serialize text).
 * Fields are assigned after construction (class fields are defined after the
 * base constructor returns), and only fields the class declares as data:
 * a payload can never set `isolated`, `permissions` or any other config.
 */
import { PayloadError } from "../errors.ts";
import { PhpObject, type PhpValue } from "../payload/php_serialize.ts";
import { unserializePhp } from "../payload/php_unserialize.ts";
import { isConfigField } from "./job_config.ts";
import type { JobClass, KQueueJob } from "./job.ts";

export function hydrateJob<T extends KQueueJob>(
  Class: JobClass<T>,
  command: string | undefined,
  jobName: string,
): T {
  const job = new Class();
  if (command === undefined) return job;
  const decoded = decodeCommand(command, jobName);
  const { className } = decoded;
  if (className !== jobName && className !== Class.name && className !== Class.laravel) {
    throw new PayloadError(
      `The payload's command is a ${className}, but it was routed to ${jobName}: refusing to mix classes`,
    );
  }
  refuseUnsupported(decoded, jobName);
  const target = job as unknown as Record<string, unknown>;
  for (const key of Object.keys(job)) {
    if (isConfigField(key) || !Object.hasOwn(decoded.properties, key)) continue;
    target[key] = toFieldValue(
      decoded.properties[key] as PhpValue,
      target[key],
      `${jobName}.${key}`,
    );
  }
  return job;
}

/** Decodes `O:…` text into its class name and properties (visibility already stripped). */
export function decodeCommand(command: string, jobName: string): PhpObject {
  if (!command.startsWith("O:")) {
    const kind = /^[A-Za-z0-9+/=]{20,}$/.test(command)
      ? "an encrypted command (ShouldBeEncrypted)"
      : "not PHP serialize text";
    throw new PayloadError(
      `Cannot decode ${jobName}'s data.command: it is ${kind}; only O:… serialized commands are supported`,
    );
  }
  const value = unserializePhp(command);
  if (!(value instanceof PhpObject)) {
    throw new PayloadError(`Cannot decode ${jobName}'s data.command: it is not a PHP object`);
  }
  return value;
}

/** A field whose default is a string, number or boolean takes that type (or null), nothing else. */
function checkPrimitive(value: PhpValue, current: unknown, where: string): void {
  const expected = typeof current;
  if (
    value === null || (expected !== "string" && expected !== "number" && expected !== "boolean")
  ) return;
  const actual: string = typeof value;
  if (actual === expected) return;
  const got = typeof value === "bigint"
    ? "an integer too large for a JavaScript number"
    : Array.isArray(value)
    ? "an array"
    : value instanceof PhpObject
    ? `a ${value.className} object`
    : `a ${typeof value}`;
  throw new PayloadError(
    `Cannot hydrate ${where}: it is a ${expected} field (by its default), got ${got}`,
  );
}

function toFieldValue(value: PhpValue, current: unknown, where: string): unknown {
  checkPrimitive(value, current, where);
  if (value instanceof PhpObject) {
    throw new PayloadError(
      `Cannot hydrate ${where}: it holds a PHP object of class ${value.className} (models, dates and other objects are not supported yet)`,
    );
  }
  // PHP has one empty array for [] and {}: follow the field's default shape.
  if (Array.isArray(value) && value.length === 0 && isPlainObject(current)) return {};
  if (Array.isArray(value)) {
    return value.map((item, i) => toFieldValue(item, undefined, `${where}[${i}]`));
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty, so a "__proto__" key is data, never a prototype.
      Object.defineProperty(out, key, {
        value: toFieldValue(item, undefined, `${where}.${key}`),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Laravel features whose meaning would be silently lost if the job just ran:
 * the rest of a Bus::chain (Laravel pushes it after success) and batches.
 */
function refuseUnsupported(command: PhpObject, jobName: string): void {
  const chained = command.properties.chained;
  if (Array.isArray(chained) && chained.length > 0) {
    throw new PayloadError(
      `${jobName} is the head of a Bus::chain with ${chained.length} more job(s); chains are not supported yet, so it was not run (run it with Laravel's worker)`,
    );
  }
  const batchId = command.properties.batchId;
  if (typeof batchId === "string" && batchId !== "") {
    throw new PayloadError(
      `${jobName} belongs to Bus::batch ${batchId}; batches are not supported yet, so it was not run (run it with Laravel's worker)`,
    );
  }
}
