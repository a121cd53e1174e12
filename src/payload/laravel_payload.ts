/**
 * Laravel's queue payload JSON: building it for TypeScript jobs and reading
 * (validating) whatever sits in storage. Knows no job classes.
 */
import { PayloadError } from "../errors.ts";
import { printable } from "./untrusted_text.ts";

/** Laravel's handler for every class-based job. */
export const CALL_QUEUED_HANDLER = "Illuminate\\Queue\\CallQueuedHandler@call";

/** The payload fields KQueue reads, validated. */
export interface ParsedPayload {
  readonly uuid?: string;
  readonly displayName?: string;
  /** `Class@method`. */
  readonly job: string;
  readonly maxTries?: number;
  readonly maxExceptions?: number;
  readonly failOnTimeout: boolean;
  /** Seconds per retry, from Laravel's comma string; undefined when absent. */
  readonly backoff?: readonly number[];
  readonly timeout?: number;
  /** Unix seconds. */
  readonly retryUntil?: number;
  /** `data.commandName`, or the class in the `O:` header of `data.command`. */
  readonly commandName?: string;
  /** `data.command` (PHP serialize text). */
  readonly command?: string;
  /** The whole decoded object, for re-encoding. */
  readonly raw: Record<string, unknown>;
}

export interface BuildPayloadInput {
  readonly uuid: string;
  /** `displayName` and `data.commandName`. */
  readonly name: string;
  /** PHP serialize text of the job's data (`O:…`). */
  readonly command: string;
  readonly maxTries?: number;
  readonly maxExceptions?: number;
  readonly failOnTimeout?: boolean;
  readonly backoff?: readonly number[];
  readonly timeout?: number;
  readonly retryUntil?: number;
}

/** @default 8 MiB: larger payloads are refused at dispatch and failed when read. */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

/**
 * Deepest nesting of JSON arrays/objects a stored payload may have: PHP's
 * `json_decode` default, so Laravel's own workers refuse the same payloads.
 * (KQueue's payloads nest 2 levels; the cap keeps recursive code safe.)
 */
export const MAX_PAYLOAD_DEPTH = 512;

/**
 * The payload in Laravel's key order (database form: no `id`/`attempts`).
 * Never writes a top-level `delay` (Laravel ≥ 12.11 reads it as a backoff fallback).
 */
export function buildPayload(input: BuildPayloadInput): Record<string, unknown> {
  return {
    uuid: input.uuid,
    displayName: input.name,
    job: CALL_QUEUED_HANDLER,
    maxTries: input.maxTries ?? null,
    maxExceptions: input.maxExceptions ?? null,
    failOnTimeout: input.failOnTimeout ?? false,
    backoff: input.backoff === undefined ? null : input.backoff.join(","),
    timeout: input.timeout ?? null,
    retryUntil: input.retryUntil ?? null,
    data: { commandName: input.name, command: input.command },
  };
}

/** How many built payload texts are remembered, and the largest remembered (see `buildPayloadText`). */
const REMEMBERED_TEXTS = 16;
const REMEMBERED_MAX_CHARS = 16 * 1024;
/**
 * A ring, not a Set: hashing each text for a Set cost ~10 µs of a cold dispatch. `indexOf`
 * compares by value (the same string object matches at once; other texts differ early, at the uuid).
 */
const builtTexts: (string | undefined)[] = new Array(REMEMBERED_TEXTS).fill(undefined);
let nextBuilt = 0;

/**
 * `buildPayload` as JSON text. The last few such texts are remembered, so a
 * driver that must know a payload's shape before storing it (Redis adds `id`
 * and `attempts`) can skip parsing a text this process just built: any text
 * equal to one of them is a JSON object in database form. Parsing it again
 * cost ~35 µs of a cold dispatch at low load (measured).
 */
export function buildPayloadText(input: BuildPayloadInput): string {
  const text = JSON.stringify(buildPayload(input));
  if (text.length <= REMEMBERED_MAX_CHARS) {
    builtTexts[nextBuilt] = text;
    nextBuilt = (nextBuilt + 1) % REMEMBERED_TEXTS;
  }
  return text;
}

/** True (once) when `text` is one `buildPayloadText` made: a JSON object without `id` or `attempts`. */
export function takeBuiltPayload(text: string): boolean {
  const index = builtTexts.indexOf(text);
  if (index < 0) return false;
  builtTexts[index] = undefined;
  return true;
}

/**
 * Parses and validates stored payload text: size, nesting, then the fields
 * KQueue reads. Throws PayloadError with the reason.
 */
export function parsePayload(text: string, maxBytes = MAX_PAYLOAD_BYTES): ParsedPayload {
  checkSize(text, maxBytes);
  checkDepth(text, MAX_PAYLOAD_DEPTH);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the error: it is the payload's, so it is escaped.
    throw new PayloadError(`Payload is not valid JSON (${printable((error as Error).message)})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    const got = raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw;
    throw new PayloadError(`Payload must be a JSON object, got ${got}`);
  }
  const p = raw as Record<string, unknown>;
  const job = p.job;
  if (typeof job !== "string" || job === "") {
    throw new PayloadError(`Payload has no "job" handler string`);
  }
  const data = p.data;
  const dataObject = typeof data === "object" && data !== null && !Array.isArray(data)
    ? data as Record<string, unknown>
    : undefined;
  const command = optionalString(dataObject?.command, "data.command");
  const out: Record<string, unknown> = {
    job,
    failOnTimeout: p.failOnTimeout === true,
    raw: p,
  };
  set(out, "uuid", readUuid(p.uuid));
  set(out, "displayName", optionalString(p.displayName, "displayName"));
  set(out, "maxTries", optionalCount(p.maxTries, "maxTries"));
  set(out, "maxExceptions", optionalCount(p.maxExceptions, "maxExceptions"));
  set(out, "timeout", optionalSeconds(p.timeout, "timeout"));
  // Laravel 7 names: `delay` for backoff, `timeoutAt` for retryUntil.
  set(out, "backoff", parseBackoff(p.backoff ?? p.delay));
  set(out, "retryUntil", optionalSeconds(p.retryUntil ?? p.timeoutAt, "retryUntil"));
  set(out, "command", command);
  set(
    out,
    "commandName",
    optionalString(dataObject?.commandName, "data.commandName") ?? classOfCommand(command),
  );
  if (job === CALL_QUEUED_HANDLER && command === undefined) {
    // Laravel's handler unserializes data.command; without it there is no job to run.
    throw new PayloadError(
      `Payload for ${CALL_QUEUED_HANDLER} has no "data.command" string (the serialized job)`,
    );
  }
  return out as unknown as ParsedPayload;
}

/**
 * An empty uuid is no uuid (failed_jobs would file every such job under one
 * row). One that is not printable or too long is refused: it is shown by
 * logs and `kqueue failed`, and Laravel's failed_jobs.uuid is a varchar(255).
 */
function readUuid(value: unknown): string | undefined {
  const uuid = optionalString(value, "uuid");
  if (uuid === undefined || uuid === "") return undefined;
  if (uuid.length > 255 || printable(uuid, 255) !== uuid) {
    throw new PayloadError(
      `Payload "uuid" must be printable text of at most 255 characters, got ${
        JSON.stringify(printable(uuid, 60))
      }`,
    );
  }
  return uuid;
}

function checkSize(text: string, maxBytes: number): void {
  // UTF-16 units never outnumber UTF-8 bytes, so only a near miss needs an exact count.
  const bytes = text.length > maxBytes || text.length * 3 <= maxBytes
    ? text.length
    : new TextEncoder().encode(text).length;
  if (bytes > maxBytes) {
    throw new PayloadError(
      `Payload is ${
        text.length > maxBytes ? "at least " : ""
      }${bytes} bytes, over the ${maxBytes}-byte limit`,
    );
  }
}

/** Refuses nesting deeper than `maxDepth` before parsing: one pass, strings skipped. */
function checkDepth(text: string, maxDepth: number): void {
  if (text.length <= maxDepth) return; // each level takes a bracket: too short to nest deeper
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) {
        throw new PayloadError(`Payload nests JSON deeper than ${maxDepth} levels`);
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

/** Laravel's backoff forms: "1,5,10", "5", 5, [1,5]; null/"" = none. */
export function parseBackoff(value: unknown): readonly number[] | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const parts = typeof value === "string"
    ? value.split(",")
    : Array.isArray(value)
    ? value
    : [value];
  const seconds = parts.map((part) => Number(typeof part === "string" ? part.trim() : part));
  if (seconds.some((s) => !Number.isFinite(s) || s < 0)) {
    throw new PayloadError(
      `Payload "backoff" must be seconds like "1,5,10": got ${JSON.stringify(value)}`,
    );
  }
  return seconds;
}

function classOfCommand(command: string | undefined): string | undefined {
  const match = command === undefined ? null : /^O:\d+:"([^"]{1,255})":/.exec(command);
  return match?.[1];
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new PayloadError(`Payload "${field}" must be a string, got ${typeof value}`);
  }
  return value;
}

function optionalCount(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new PayloadError(
      `Payload "${field}" must be a non-negative integer, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function optionalSeconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new PayloadError(
      `Payload "${field}" must be a non-negative number of seconds, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function set(into: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) into[key] = value;
}
