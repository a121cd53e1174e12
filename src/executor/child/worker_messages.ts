/** Messages between the child's main thread (runner.ts) and its job Worker (job_worker.ts). */
import type { SerializedError } from "../../errors.ts";
import type { ChildResult } from "../protocol.ts";

export type ToWorker =
  /** Import the job module (through a computed specifier) and find the class. */
  | { readonly type: "load"; readonly moduleUrl: string; readonly exportName: string }
  /** Hydrate and run one job; `json` is the `JobRequest` exactly as the daemon wrote it. */
  | { readonly type: "run"; readonly seq: number; readonly json: string }
  /** Answer with a pong from the Worker's event loop (a health check). */
  | { readonly type: "ping"; readonly seq: number }
  /** Abort the running job's signal (SIGTERM, or the child's own deadline). */
  | { readonly type: "abort"; readonly reason: "timeout" | "terminated" };

export type FromWorker =
  | { readonly type: "loaded" }
  /** The import failed, or the export is not a job class. */
  | { readonly type: "load-failed"; readonly error: SerializedError }
  /** The Worker's event loop is alive and has aborted the job's signal. */
  | { readonly type: "abort-ack" }
  /** `wroteStderr`: the job wrote to stderr (the main thread then marks its frame). */
  | {
    readonly type: "result";
    readonly seq: number;
    readonly result: ChildResult;
    readonly wroteStderr: boolean;
  }
  | { readonly type: "pong"; readonly seq: number }
  /** The job called `Deno.exit()`, `process.exit()` or `self.close()`: end the whole child with that code. */
  | { readonly type: "exit"; readonly code: number };
