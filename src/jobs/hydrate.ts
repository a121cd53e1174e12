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
  const allowed = new Set([jobName, Class.name, ...(Class.laravel ? [Class.laravel] : [])]);
  if (!allowed.has(decoded.className)) {
    throw new PayloadError(
      `The payload's command is a ${decoded.className}, but it was routed to ${jobName}: refusing to mix classes`,
    );
  }
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

function toFieldValue(value: PhpValue, current: unknown, where: string): unknown {
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
