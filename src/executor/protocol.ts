/**
 * The daemon ↔ child wire format. One child runs one job class, and may run
 * several of its jobs, one at a time.
 *
 * stdin (daemon → child), one line each:
 *   1. a per-child nonce; 2. a `ChildSetup` as JSON (the class to load);
 *   then commands: `r <seq> <timeoutMs> <JobRequest JSON>` runs a job,
 *   `p <seq>` asks for a health answer. EOF means "exit now" (the daemon
 *   retired the child, or died). The nonce never appears in args or env,
 *   where the job could read it.
 *
 * stdout (child → daemon): frames `<nonce> <ChildFrame JSON>`, written only by
 * the child's main thread: `ready` once the class has loaded and the load-time
 * grants are revoked (or `start-failed`), then one `result` per job and one
 * `pong` per ping. Every other byte on stdout is the job's own output, so a
 * job printing untrusted text cannot forge an outcome.
 *
 * stderr: the job's output, and, before the result frame of a job that
 * wrote to stderr, a marker line `<nonce> <seq>` (the frame then says
 * `marked`): the daemon waits for it, so it has read all the job wrote to
 * stderr before its result (the two pipes are not ordered with each other).
 * Jobs that write no stderr cost no marker.
 */
import type { SerializedError } from "../errors.ts";
import type { IsolatedRunRequest } from "./isolated_request.ts";

/** The second stdin line: what every job of this child shares. */
export interface ChildSetup {
  readonly moduleUrl: string;
  readonly exportName: string;
  /** Milliseconds the child waits for the job after aborting its signal (SIGTERM, own deadline). */
  readonly graceMs: number;
  /** Read grants that exist only to load the job: revoked after it loaded, before any `handle()`. */
  readonly revokeReads: readonly string[];
}

/** The per-job part of a request: what the child's Worker needs to hydrate and run the job. */
export type JobRequest = Pick<
  IsolatedRunRequest,
  "jobName" | "command" | "attempt" | "jobId" | "uuid" | "queue" | "connection" | "mode" | "error"
>;

/** What the child's main thread reports about one job. */
export type ChildResult =
  | { readonly kind: "success" }
  /** `handle()` (or `failed()`) threw; a Deno permission error in it means "denied". */
  | { readonly kind: "error"; readonly error: SerializedError }
  | { readonly kind: "released"; readonly delaySeconds: number }
  /** `fail()`, an `UnrecoverableError`, or a payload that cannot be hydrated. */
  | { readonly kind: "failed"; readonly error: SerializedError }
  /** The child's own deadline fired (the daemon's should have fired first). */
  | { readonly kind: "timeout" }
  /** The job called `Deno.exit(code)` (or `self.close()`) before it settled. */
  | { readonly kind: "exit"; readonly code: number };

export type ChildFrame =
  | { readonly type: "ready" }
  /** The module failed to import, has no job class under that export, or a grant survived revocation. */
  | { readonly type: "start-failed"; readonly error: SerializedError }
  /**
   * `last`: the child exits after this frame (its Worker died, or it was stopped): never give it
   * another job. `marked`: a stderr marker was written just before this frame.
   */
  | {
    readonly type: "result";
    readonly seq: number;
    readonly result: ChildResult;
    readonly last?: true;
    readonly marked?: true;
  }
  | { readonly type: "pong"; readonly seq: number };

/** Exit codes the runner uses on its own (the job's `Deno.exit(n)` passes `n` through). */
export const CHILD_EXIT = {
  /** stdin reached EOF: the daemon closed it or died. */
  stdinClosed: 81,
  /** SIGTERM or the child's own deadline, and the job did not settle within the grace. */
  terminated: 82,
  /** The stdin setup lines were missing or unreadable, or a command was malformed. */
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

export function encodeFrame(nonce: string, frame: ChildFrame): string {
  return `${nonce} ${JSON.stringify(frame)}\n`;
}

/** The stdin line that runs a job; the JSON is parsed only by the Worker that runs it. */
export function encodeRunCommand(seq: number, timeoutMs: number, job: JobRequest): string {
  return `r ${seq} ${timeoutMs} ${JSON.stringify(job)}\n`;
}

export function encodePingCommand(seq: number): string {
  return `p ${seq}\n`;
}

export type ChildCommand =
  | {
    readonly type: "run";
    readonly seq: number;
    readonly timeoutMs: number;
    readonly json: string;
  }
  | { readonly type: "ping"; readonly seq: number };

/** Parses a command line (child side); undefined for anything malformed. */
export function parseCommand(line: string): ChildCommand | undefined {
  if (line.startsWith("p ")) {
    const seq = Number(line.slice(2));
    return Number.isSafeInteger(seq) ? { type: "ping", seq } : undefined;
  }
  if (!line.startsWith("r ")) return undefined;
  const seqEnd = line.indexOf(" ", 2);
  const timeoutEnd = seqEnd < 0 ? -1 : line.indexOf(" ", seqEnd + 1);
  if (timeoutEnd < 0) return undefined;
  const seq = Number(line.slice(2, seqEnd));
  const timeoutMs = Number(line.slice(seqEnd + 1, timeoutEnd));
  if (!Number.isSafeInteger(seq) || !Number.isFinite(timeoutMs) || timeoutMs < 0) return undefined;
  return { type: "run", seq, timeoutMs, json: line.slice(timeoutEnd + 1) };
}

/**
 * Parses what follows the nonce on a frame line (daemon side). Throws a
 * TypeError naming what is wrong; the daemon treats that as a protocol break.
 */
export function parseFrameBody(body: string): ChildFrame {
  if (!body.startsWith(" ")) throw new TypeError("the nonce is not followed by a space");
  let value: unknown;
  try {
    value = JSON.parse(body.slice(1));
  } catch {
    throw new TypeError("the frame is not JSON");
  }
  if (!isRecord(value)) throw new TypeError("the frame is not a JSON object");
  switch (value.type) {
    case "ready":
      return { type: "ready" };
    case "start-failed":
      return { type: "start-failed", error: requireSerializedError(value.error, 0) };
    case "pong":
      return { type: "pong", seq: requireSeq(value.seq) };
    case "result": {
      return {
        type: "result",
        seq: requireSeq(value.seq),
        result: parseResult(value.result),
        ...(value.last === true ? { last: true } : {}),
        ...(value.marked === true ? { marked: true } : {}),
      } as const;
    }
    default:
      throw new TypeError(`unknown frame type ${JSON.stringify(value.type)}`);
  }
}

function parseResult(value: unknown): ChildResult {
  if (!isRecord(value)) throw new TypeError("the frame's result is not a JSON object");
  switch (value.kind) {
    case "success":
    case "timeout":
      return { kind: value.kind };
    case "released":
      if (
        typeof value.delaySeconds !== "number" || !Number.isFinite(value.delaySeconds) ||
        value.delaySeconds < 0
      ) {
        throw new TypeError("a released result needs a non-negative delaySeconds");
      }
      return { kind: "released", delaySeconds: value.delaySeconds };
    case "error":
    case "failed":
      return { kind: value.kind, error: requireSerializedError(value.error, 0) };
    case "exit":
      if (typeof value.code !== "number" || !Number.isInteger(value.code)) {
        throw new TypeError("an exit result needs an integer code");
      }
      return { kind: "exit", code: value.code };
    default:
      throw new TypeError(`unknown result kind ${JSON.stringify(value.kind)}`);
  }
}

function requireSeq(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError("the frame's seq is not a non-negative integer");
  }
  return value;
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
