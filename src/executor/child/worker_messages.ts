/** Messages between the child's main thread (runner.ts) and its job Worker (job_worker.ts). */
import type { IsolatedRunRequest } from "../isolated_request.ts";
import type { ChildResult } from "../protocol.ts";

export type ToWorker =
  /** Import the job module (through a computed specifier) and find the class. */
  | { readonly type: "load"; readonly moduleUrl: string; readonly exportName: string }
  /** The load grants are revoked: hydrate the job and run it. */
  | { readonly type: "run"; readonly request: IsolatedRunRequest }
  /** Abort the job's signal (SIGTERM, or the child's own deadline). */
  | { readonly type: "abort"; readonly reason: "timeout" | "terminated" };

export type FromWorker =
  | { readonly type: "loaded" }
  /** The Worker's event loop is alive and has aborted the job's signal. */
  | { readonly type: "abort-ack" }
  | { readonly type: "result"; readonly result: ChildResult }
  /** The job called `Deno.exit()`, `process.exit()` or `self.close()`: end the whole child with that code. */
  | { readonly type: "exit"; readonly code: number };
