/**
 * The two Redis-only payload keys (`RedisQueue::createPayloadArray`): `id`,
 * 32 random `[A-Za-z0-9]` (`Str::random(32)`), and `attempts`, the number of
 * times this copy was popped (0 when pushed). The pop script needs a numeric
 * `attempts`: without it Laravel's pop loses the job.
 */
import { takeBuiltPayload } from "../../payload/laravel_payload.ts";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** 256 - 256 % 62: bytes at or above are redrawn, so every character is equally likely. */
const UNBIASED_LIMIT = 248;

/** Random bytes drawn ahead: one getRandomValues call per ~100 ids (a call cost ~35 µs cold, measured). */
const randomBytes = new Uint8Array(4096);
let randomUsed = randomBytes.length;

function randomByte(): number {
  if (randomUsed === randomBytes.length) {
    crypto.getRandomValues(randomBytes);
    randomUsed = 0;
  }
  return randomBytes[randomUsed++]!;
}

/** `Str::random(32)`: 32 characters of `[A-Za-z0-9]`, each equally likely (CSPRNG bytes). */
export function randomJobId(length = 32): string {
  let id = "";
  while (id.length < length) {
    const byte = randomByte();
    if (byte < UNBIASED_LIMIT) id += ALPHANUMERIC[byte % 62];
  }
  return id;
}

export interface RedisPayload {
  /** The text to store. */
  readonly text: string;
  /** Its `id`, or "" when the text is not a JSON object (stored as given, as `pushRaw` does). */
  readonly id: string;
}

/**
 * Gives a payload its Redis keys. The usual input, a database-form payload
 * (no `id`, no `attempts`), keeps every byte and gets `,"id":"…","attempts":0`
 * appended, Laravel's key order. A payload that already has a string `id` and a
 * numeric `attempts` (one re-pushed from failed_jobs, as `queue:retry` does)
 * is stored unchanged; one with only some of them is completed (`attempts`
 * that is not a number becomes 0). Text that is not a JSON object is stored
 * as given: the worker that pops it fails it with the reason.
 */
export function withRedisKeys(payload: string): RedisPayload {
  if (takeBuiltPayload(payload)) {
    const id = randomJobId();
    return { text: `${payload.slice(0, -1)},"id":"${id}","attempts":0}`, id };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(payload);
  } catch {
    return { text: payload, id: "" };
  }
  if (decoded === null || typeof decoded !== "object" || Array.isArray(decoded)) {
    return { text: payload, id: "" };
  }
  const fields = decoded as Record<string, unknown>;
  const hasId = typeof fields.id === "string" && fields.id !== "";
  const hasAttempts = typeof fields.attempts === "number" && Number.isFinite(fields.attempts);
  if (hasId && hasAttempts) return { text: payload, id: fields.id as string };
  const id = hasId ? fields.id as string : randomJobId();
  if (!("id" in fields) && !("attempts" in fields)) {
    const end = payload.lastIndexOf("}");
    const empty = Object.keys(fields).length === 0;
    const added = `${empty ? "" : ","}"id":${JSON.stringify(id)},"attempts":0}`;
    return { text: payload.slice(0, end) + added, id };
  }
  return {
    text: JSON.stringify({ ...fields, id, attempts: hasAttempts ? fields.attempts : 0 }),
    id,
  };
}
