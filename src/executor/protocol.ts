/**
 * The daemon ↔ child wire format.
 *
 * stdin (daemon → child): line 1 is a per-child nonce, line 2 a `ChildSetup`
 * as JSON; then stdin stays open, and its EOF tells the child the daemon is gone.
 * The nonce never appears in args or env, where the job could read it.
 *
 * stdout (child → daemon): the child's main thread writes exactly one result
 * frame, `<nonce> <ChildResult as JSON>`. Every other byte on stdout is the
 * job's own output, so a job printing untrusted text cannot forge an outcome.
 */
import type { SerializedError } from "../errors.ts";
import type { IsolatedRunRequest } from "./isolated_request.ts";

/** The second stdin line. */
export interface ChildSetup {
  readonly request: IsolatedRunRequest;
  /** Milliseconds the child waits for the job after aborting its signal (SIGTERM, own deadline). */
  readonly graceMs: number;
  /** Read grants that exist only to load the job: revoked after it loaded, before `handle()` runs. */
  readonly revokeReads: readonly string[];
}

/** What the child's main thread reports, once. */
export type ChildResult =
  | { readonly kind: "success" }
  /** `handle()` (or `failed()`) threw; a Deno permission error in it means "denied". */
  | { readonly kind: "error"; readonly error: SerializedError }
  | { readonly kind: "released"; readonly delaySeconds: number }
  /** `fail()`, an `UnrecoverableError`, or a payload that cannot be hydrated. */
  | { readonly kind: "failed"; readonly error: SerializedError }
  /** The child's own deadline fired (the daemon's should have fired first). */
  | { readonly kind: "timeout" }
  /** The job module failed to import, or has no job class under that export. */
  | { readonly kind: "load-failed"; readonly error: SerializedError }
  /** The job called `Deno.exit(code)` (or `self.close()`) before it settled. */
  | { readonly kind: "exit"; readonly code: number };

/** Exit codes the runner uses on its own (the job's `Deno.exit(n)` passes `n` through). */
export const CHILD_EXIT = {
  /** stdin reached EOF: the daemon closed it or died. */
  stdinClosed: 81,
  /** SIGTERM or the child's own deadline, and the job did not settle within the grace. */
  terminated: 82,
  /** The stdin setup lines were missing or unreadable. */
  badSetup: 83,
} as const;

/** What each runner exit code means, for crash messages. */
export const CHILD_EXIT_MEANING: Readonly<Record<number, string>> = {
  [CHILD_EXIT.stdinClosed]: "its stdin was closed",
  [CHILD_EXIT.terminated]: "it was stopped and the job did not settle within the grace period",
  [CHILD_EXIT.badSetup]: "it received no readable setup on stdin",
};

/** 128 random bits as hex. */
export function createNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function encodeFrame(nonce: string, result: ChildResult): string {
  return `${nonce} ${JSON.stringify(result)}\n`;
}

/**
 * Parses what follows the nonce on a frame line. Throws a TypeError naming
 * what is wrong; the executor turns that into a "protocol" crash.
 */
export function parseFrameBody(body: string): ChildResult {
  if (!body.startsWith(" ")) throw new TypeError("the nonce is not followed by a space");
  let value: unknown;
  try {
    value = JSON.parse(body.slice(1));
  } catch {
    throw new TypeError("the frame is not JSON");
  }
  if (!isRecord(value)) throw new TypeError("the frame is not a JSON object");
  switch (value.kind) {
    case "success":
    case "timeout":
      return { kind: value.kind };
    case "released":
      if (
        typeof value.delaySeconds !== "number" || !Number.isFinite(value.delaySeconds) ||
        value.delaySeconds < 0
      ) {
        throw new TypeError("a released frame needs a non-negative delaySeconds");
      }
      return { kind: "released", delaySeconds: value.delaySeconds };
    case "error":
    case "failed":
    case "load-failed":
      return { kind: value.kind, error: requireSerializedError(value.error, 0) };
    case "exit":
      if (typeof value.code !== "number" || !Number.isInteger(value.code)) {
        throw new TypeError("an exit frame needs an integer code");
      }
      return { kind: "exit", code: value.code };
    default:
      throw new TypeError(`unknown frame kind ${JSON.stringify(value.kind)}`);
  }
}

function requireSerializedError(value: unknown, depth: number): SerializedError {
  if (!isRecord(value) || typeof value.name !== "string" || typeof value.message !== "string") {
    throw new TypeError("the frame's error is not {name, message}");
  }
  const error: SerializedError = { name: value.name, message: value.message };
  if (typeof value.stack === "string") error.stack = value.stack;
  if (value.cause !== undefined && depth < 5) {
    error.cause = requireSerializedError(value.cause, depth + 1);
  }
  return error;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
