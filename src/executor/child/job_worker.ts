/**
 * The Worker entry inside an isolated job's child: trusted code that imports
 * the job module through a computed specifier (so Deno checks the job's
 * whole graph against the read grant), then, for each run message (sent only
 * once the main thread has revoked the load grants), hydrates a fresh
 * instance and runs `handle()` or `failed()`. Module state is shared by the
 * jobs a reused child runs: that is the price of reuse, and documented.
 */
import {
  deserializeError,
  PayloadError,
  serializeError,
  TimeoutExceededError,
} from "../../errors.ts";
import { hydrateJob } from "../../jobs/hydrate.ts";
import { CONTEXT, isJobClass, type JobClass, type KQueueJob } from "../../jobs/job.ts";
import {
  type AttemptState,
  contextOutcome,
  createAttemptContext,
  thrownOutcome,
} from "../attempt_context.ts";
import type { AttemptOutcome } from "../outcome.ts";
import type { ChildResult, JobRequest } from "../protocol.ts";
import type { FromWorker, ToWorker } from "./worker_messages.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
let jobClass: JobClass | undefined;
let attempt: AttemptState | undefined;
let wroteStderr = false;

routeExitsToMainThread();
noticeStderrWrites();

scope.onmessage = ({ data }) => {
  switch (data.type) {
    case "load":
      void load(data.moduleUrl, data.exportName);
      return;
    case "run":
      void run(data.seq, data.json);
      return;
    case "ping":
      scope.postMessage({ type: "pong", seq: data.seq });
      return;
    case "abort":
      // Answer first: a job that can answer can use its grace period; one that spins cannot.
      scope.postMessage({ type: "abort-ack" });
      attempt?.abort(
        data.reason === "timeout"
          ? new TimeoutExceededError("The attempt reached its timeout")
          : new DOMException("The attempt was stopped (SIGTERM)", "AbortError"),
      );
  }
};

async function load(moduleUrl: string, exportName: string): Promise<void> {
  let exports: Record<string, unknown>;
  try {
    // Computed on purpose: a literal specifier here would be loaded unchecked.
    exports = await import(moduleUrl);
  } catch (error) {
    return scope.postMessage({ type: "load-failed", error: serializeError(error) });
  }
  const candidate = exports[exportName];
  if (!isJobClass(candidate)) {
    const found = candidate === undefined ? "nothing" : `a ${typeof candidate}`;
    const error = new TypeError(`its export "${exportName}" is ${found}, not a KQueueJob class`);
    return scope.postMessage({ type: "load-failed", error: serializeError(error) });
  }
  jobClass = candidate;
  scope.postMessage({ type: "loaded" });
}

async function run(seq: number, json: string): Promise<void> {
  wroteStderr = false;
  const reportResult = (result: ChildResult) =>
    scope.postMessage({ type: "result", seq, result, wroteStderr });
  if (!jobClass) {
    const error = new Error("The job class was not loaded before the run message");
    return reportResult({ kind: "error", error: serializeError(error) });
  }
  const request = JSON.parse(json) as JobRequest;
  const { attempt: number, jobId, uuid, queue, connection } = request;
  const state = createAttemptContext({ attempt: number, jobId, uuid, queue, connection });
  attempt = state;

  let job: KQueueJob;
  try {
    // Payload data is untrusted: it is decoded only now, with the load grants gone.
    job = hydrateJob(jobClass, request.command, request.jobName);
  } catch (error) {
    // A payload that cannot be decoded will never run: fail it rather than retry it.
    const kind = error instanceof PayloadError ? "failed" : "error";
    return reportResult({ kind, error: serializeError(error) });
  }
  job[CONTEXT] = state.context;

  let outcome: AttemptOutcome;
  try {
    if (request.mode === "handle") {
      await job.handle(state.context);
    } else {
      await job.failed?.(
        deserializeError(request.error ?? { name: "Error", message: "(no error was given)" }),
      );
    }
    outcome = contextOutcome(state) ?? { kind: "success" };
  } catch (thrown) {
    outcome = contextOutcome(state) ?? thrownOutcome(thrown);
  }
  if (attempt === state) attempt = undefined;
  reportResult(toChildResult(outcome));
}

function toChildResult(outcome: AttemptOutcome): ChildResult {
  switch (outcome.kind) {
    case "success":
      return { kind: "success" };
    case "released":
      return { kind: "released", delaySeconds: outcome.delaySeconds };
    case "failed":
      return { kind: "failed", error: serializeError(outcome.error) };
    case "error":
      return { kind: "error", error: serializeError(outcome.error) };
    default:
      return { kind: "error", error: serializeError(outcome.error) };
  }
}

/**
 * Notes when the job writes to stderr through console or `Deno.stderr`, so
 * its result frame is marked only then (a marker costs a write and a read per
 * job). Writes that bypass these (the `writable` stream, say) are still
 * shown; they may just be attributed to the next job on this child.
 */
function noticeStderrWrites(): void {
  const noted = <A extends unknown[], R>(write: (...args: A) => R) => (...args: A): R => {
    wroteStderr = true;
    return write(...args);
  };
  for (const method of ["error", "warn", "trace", "assert"] as const) {
    console[method] = noted(console[method].bind(console));
  }
  const stderr = Deno.stderr;
  Object.assign(stderr, {
    write: noted(stderr.write.bind(stderr)),
    writeSync: noted(stderr.writeSync.bind(stderr)),
  });
}

/**
 * In a Worker, `Deno.exit()` (and `process.exit()`, which calls it) only ends
 * the Worker, and the child would idle until its deadline. Tell the main
 * thread first, so the whole child exits with the job's code.
 */
function routeExitsToMainThread(): void {
  const workerExit = Deno.exit;
  Object.defineProperty(Deno, "exit", {
    configurable: true,
    writable: true,
    value: (code = 0): never => {
      scope.postMessage({ type: "exit", code });
      return workerExit(code);
    },
  });
  const workerClose = scope.close.bind(scope);
  scope.close = () => {
    scope.postMessage({ type: "exit", code: 0 });
    workerClose();
  };
}
