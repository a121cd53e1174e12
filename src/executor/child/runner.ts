/**
 * The fixed, trusted entry of an isolated job's child process. It is never
 * job code: Deno's loader skips `--allow-read` for the entry's static graph,
 * so the job arrives through the computed `import()` in job_worker.ts instead.
 *
 * This main thread owns the protocol (the nonce never leaves it), the
 * stdin-EOF watchdog, each job's own deadline and SIGTERM. The job runs in a
 * Worker, so `Deno.exit()` here ends the child even while the job spins.
 * It loads the class once, revokes the load-time grants, says `ready`, then
 * runs the jobs the daemon sends, one at a time (see protocol.ts).
 */
import { LazyDeadline } from "../lazy_deadline.ts";
import { forEachLine } from "../line_reader.ts";
import {
  CHILD_EXIT,
  type ChildFrame,
  type ChildResult,
  type ChildSetup,
  encodeFrame,
  parseCommand,
} from "../protocol.ts";
import type { FromWorker, ToWorker } from "./worker_messages.ts";

/** The child's deadline fires this much after the daemon's, which is the normal kill path. */
const OWN_DEADLINE_SLACK_MS = 100;
/** A Worker that cannot answer an abort this fast is spinning: no grace can help it. */
const ABORT_ACK_MS = 50;

// Created first: its startup (~16 ms) is the largest part of the child's. It runs no job
// code until the load message below, so the job cannot read the nonce off stdin first.
const worker = new Worker(new URL("./job_worker.ts", import.meta.url), { type: "module" });
const encoder = new TextEncoder();
let nonce = "";
let setup: ChildSetup | undefined;

let ready = false;
/** The job in flight. */
let current: { seq: number } | undefined;
/** The job's own deadline (a lazy timer: no timer call per job). */
const deadline = new LazyDeadline(() => stop("timeout"));
let stopping = false;
let abortAcknowledged = false;
Deno.addSignalListener("SIGTERM", () => stop("terminated"));

// The stdin-EOF watchdog, from the start: a child still loading dies with its daemon too.
void forEachLine(Deno.stdin.readable, onStdinLine)
  .catch(() => {}) // a broken pipe is the same news as EOF
  .finally(() => Deno.exit(setup ? CHILD_EXIT.stdinClosed : CHILD_EXIT.badSetup));

worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
  switch (data.type) {
    case "loaded":
      if (ready) return;
      revokeLoadReads();
      ready = true;
      write({ type: "ready" });
      return;
    case "load-failed":
      write({ type: "start-failed", error: data.error });
      Deno.exit(0);
      break;
    case "result":
      if (current?.seq === data.seq) finish(data.result, false, data.wroteStderr);
      return;
    case "pong":
      write({ type: "pong", seq: data.seq });
      return;
    case "abort-ack":
      abortAcknowledged = true;
      return;
    case "exit": {
      // Framed first: the job's own code (81, say) must not read as one of the runner's.
      const code = typeof data.code === "number" ? data.code : 1;
      report({ kind: "exit", code }, true, true);
      Deno.exit(code);
    }
  }
};

// An error nobody caught in the Worker (a throwing timer, an unhandled rejection) ends
// the Worker, so it ends the child too: the job in flight gets it as its error.
worker.onerror = (event: ErrorEvent) => {
  event.preventDefault();
  const error = { name: "Error", message: event.message };
  if (!ready) write({ type: "start-failed", error });
  else if (current) finish({ kind: "error", error }, true, true);
  Deno.exit(0);
};

/**
 * Drops the read grants that only loading needed; the Worker inherits the
 * revocation. Fails closed: if a grant survives, no job runs.
 */
function revokeLoadReads(): void {
  for (const path of setup!.revokeReads) {
    const state = Deno.permissions.revokeSync({ name: "read", path }).state;
    if (state === "granted") {
      const message = `could not revoke the load-time read grant for ${path}`;
      write({ type: "start-failed", error: { name: "Error", message } });
      Deno.exit(0);
    }
  }
}

/** Line 1: the nonce; line 2: the setup; then one command per line (see protocol.ts). */
function onStdinLine(line: string): void {
  if (setup) return onCommand(line);
  if (nonce === "") {
    nonce = line;
    return;
  }
  setup = parseSetup(line);
  send({ type: "load", moduleUrl: setup.moduleUrl, exportName: setup.exportName });
  // Deno's first setTimeout loads its timers module (~5 ms): pay it now, not in the first job.
  setTimeout(() => {}, 0);
}

function onCommand(line: string): void {
  const command = parseCommand(line);
  // The daemon sends nothing before `ready`.
  if (!command || !ready) Deno.exit(CHILD_EXIT.badSetup);
  if (command.type === "ping") return send(command);
  // One job at a time: the daemon never sends a second before the first's result.
  if (current || stopping) Deno.exit(CHILD_EXIT.badSetup);
  current = { seq: command.seq };
  if (command.timeoutMs > 0) deadline.set(command.timeoutMs + OWN_DEADLINE_SLACK_MS);
  else deadline.clear();
  send({ type: "run", seq: command.seq, json: command.json });
}

function send(message: ToWorker): void {
  worker.postMessage(message);
}

/** Aborts the job's signal, gives it the grace period to settle, then exits. */
function stop(reason: "timeout" | "terminated"): void {
  if (stopping) return;
  stopping = true;
  if (!current) Deno.exit(CHILD_EXIT.terminated);
  // The child is never reused after a stop: the result (if any) is its last.
  if (reason === "timeout") report({ kind: "timeout" }, true, true);
  send({ type: "abort", reason });
  const graceMs = setup!.graceMs;
  setTimeout(() => {
    if (!abortAcknowledged) Deno.exit(CHILD_EXIT.terminated);
  }, Math.min(ABORT_ACK_MS, graceMs));
  setTimeout(() => Deno.exit(CHILD_EXIT.terminated), graceMs);
}

/** Reports the job's result; a stopped child exits after it, a healthy one waits for the next. */
function finish(result: ChildResult, last: boolean, wroteStderr: boolean): void {
  if (stopping) {
    report(result, true, true);
    Deno.exit(0);
  }
  report(result, last, wroteStderr || last);
  current = undefined;
}

let reportedSeq = -1;

/**
 * Writes the job's one result frame (later calls for the same job are
 * ignored), after a stderr marker when the job wrote to stderr: everything
 * it wrote there is then before the marker.
 */
function report(result: ChildResult, last: boolean, marked: boolean): void {
  if (!current || reportedSeq === current.seq) return;
  const seq = reportedSeq = current.seq;
  deadline.clear();
  if (marked) writeAll(Deno.stderr, `${nonce} ${seq}\n`);
  write({
    type: "result",
    seq,
    result,
    ...(last ? { last: true } : {}),
    ...(marked ? { marked: true } : {}),
  } as ChildFrame);
}

function write(frame: ChildFrame): void {
  writeAll(Deno.stdout, encodeFrame(nonce, frame));
}

function writeAll(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

function parseSetup(line: string): ChildSetup {
  try {
    return JSON.parse(line) as ChildSetup;
  } catch {
    Deno.exit(CHILD_EXIT.badSetup);
  }
}
