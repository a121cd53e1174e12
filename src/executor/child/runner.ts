/**
 * The fixed, trusted entry of an isolated job's child process. It is never
 * job code: Deno's loader skips `--allow-read` for the entry's static graph,
 * so the job arrives through the computed `import()` in job_worker.ts instead.
 *
 * This main thread owns the protocol (the nonce never leaves it), the
 * stdin-EOF watchdog, the child's own deadline and SIGTERM. The job runs in a
 * Worker, so `Deno.exit()` here ends the child even while the job spins.
 */
import { readLines } from "../line_reader.ts";
import { CHILD_EXIT, type ChildResult, type ChildSetup, encodeFrame } from "../protocol.ts";
import type { FromWorker, ToWorker } from "./worker_messages.ts";

/** The child's deadline fires this much after the daemon's, which is the normal kill path. */
const OWN_DEADLINE_SLACK_MS = 100;
/** A Worker that cannot answer an abort this fast is spinning: no grace can help it. */
const ABORT_ACK_MS = 50;

// Created first: its startup (~16 ms) is the largest part of the child's. It runs no job
// code until the load message below, so the job cannot read the nonce off stdin first.
const worker = new Worker(new URL("./job_worker.ts", import.meta.url), { type: "module" });
const stdinLines = readLines(Deno.stdin.readable);

const nonce = await nextLine();
const setup = parseSetup(await nextLine());
// Sent before the rest of the setup, which then overlaps the import.
send({
  type: "load",
  moduleUrl: setup.request.moduleUrl,
  exportName: setup.request.exportName,
});

let loaded = false;
let reported = false;
let stopping = false;
let abortAcknowledged = false;
void exitOnStdinEof();
if (setup.request.timeoutMs > 0) {
  // Not setTimeout: Deno 2.9's first setTimeout costs ~5 ms (it loads its timers module).
  AbortSignal.timeout(setup.request.timeoutMs + OWN_DEADLINE_SLACK_MS)
    .addEventListener("abort", () => stop("timeout"));
}
Deno.addSignalListener("SIGTERM", () => stop("terminated"));

worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
  switch (data.type) {
    case "loaded":
      if (loaded) return;
      loaded = true;
      revokeLoadReads();
      send({ type: "run", request: setup.request });
      return;
    case "result":
      finish(data.result);
      return;
    case "abort-ack":
      abortAcknowledged = true;
      return;
    case "exit": {
      // Framed first: the job's own code (81, say) must not read as one of the runner's.
      const code = typeof data.code === "number" ? data.code : 1;
      report({ kind: "exit", code });
      Deno.exit(code);
    }
  }
};

// An error nobody caught in the Worker (a throwing timer, an unhandled rejection) ends the attempt.
worker.onerror = (event: ErrorEvent) => {
  event.preventDefault();
  const error = { name: "Error", message: event.message };
  finish(loaded ? { kind: "error", error } : { kind: "load-failed", error });
};

/**
 * Drops the read grants that only loading needed; the Worker inherits the
 * revocation. Fails closed: if a grant survives, the job does not run.
 */
function revokeLoadReads(): void {
  for (const path of setup.revokeReads) {
    const state = Deno.permissions.revokeSync({ name: "read", path }).state;
    if (state === "granted") {
      const message = `could not revoke the load-time read grant for ${path}`;
      finish({ kind: "load-failed", error: { name: "Error", message } });
    }
  }
}

function send(message: ToWorker): void {
  worker.postMessage(message);
}

/** Aborts the job's signal, gives it the grace period to settle, then exits. */
function stop(reason: "timeout" | "terminated"): void {
  if (stopping) return;
  stopping = true;
  if (reason === "timeout") report({ kind: "timeout" });
  send({ type: "abort", reason });
  setTimeout(() => {
    if (!abortAcknowledged) Deno.exit(CHILD_EXIT.terminated);
  }, Math.min(ABORT_ACK_MS, setup.graceMs));
  setTimeout(() => Deno.exit(CHILD_EXIT.terminated), setup.graceMs);
}

function finish(result: ChildResult): never {
  report(result);
  Deno.exit(0);
}

/** Writes the one result frame; later calls are ignored. */
function report(result: ChildResult): void {
  if (reported) return;
  reported = true;
  const bytes = new TextEncoder().encode(encodeFrame(nonce, result));
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

async function nextLine(): Promise<string> {
  const next = await stdinLines.next();
  if (next.done) Deno.exit(CHILD_EXIT.badSetup);
  return next.value;
}

function parseSetup(line: string): ChildSetup {
  try {
    return JSON.parse(line) as ChildSetup;
  } catch {
    Deno.exit(CHILD_EXIT.badSetup);
  }
}

/** The daemon keeps stdin open for the whole run; EOF means it closed it or died. */
async function exitOnStdinEof(): Promise<never> {
  try {
    for await (const _line of stdinLines) {
      // Nothing more is sent after the setup; reading only waits for EOF.
    }
  } catch {
    // A broken pipe is the same news as EOF.
  }
  Deno.exit(CHILD_EXIT.stdinClosed);
}
