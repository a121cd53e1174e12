/** What the daemon asks the subprocess executor to run. Everything here comes from the registered class, except `command` (payload data, decoded inside the sandbox). */
import type { ChildUser } from "./child_user.ts";
import type { SerializedError } from "../errors.ts";
import { MIN_MEMORY_LIMIT_MB } from "../jobs/job_config.ts";
import type { JobPermissions } from "../jobs/permissions.ts";

export interface IsolatedRunRequest {
  /** `file://` URL of the module that exports the job class (from the registry, never from a payload). */
  readonly moduleUrl: string;
  /** Name of the export that holds the class. */
  readonly exportName: string;
  /** The registered job name (for messages). */
  readonly jobName: string;
  /** The payload's `data.command` (PHP serialize text), hydrated inside the child; undefined = no data. */
  readonly command?: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly uuid: string;
  readonly queue: string;
  readonly connection: string;
  /** Milliseconds before the child is killed; 0 = no limit. */
  readonly timeoutMs: number;
  /** MB of RSS before the child is killed; undefined = no limit. */
  readonly memoryLimitMb?: number;
  /** The class's declared permissions. */
  readonly permissions: JobPermissions;
  /** `handle` runs the job; `failed` runs its `failed(error)` hook in the sandbox. */
  readonly mode: "handle" | "failed";
  /** For mode `failed`: the error passed to `failed()`. */
  readonly error?: SerializedError;
}

/** How one isolated attempt is run (by `runIsolated` or by the pool). */
export interface IsolatedRunOptions {
  /** Absolute path of the app's project: the child's cwd and the base of relative permission paths. */
  readonly projectRoot: string;
  /** Aborting it is a forced shutdown: the child is killed now and the outcome is "crashed". */
  readonly signal?: AbortSignal;
  /** Milliseconds from SIGTERM to SIGKILL when the timeout is reached. @default 2000 */
  readonly killGraceMs?: number;
  /** Milliseconds between RSS polls (only when the request has a memory limit). @default 25 */
  readonly rssPollMs?: number;
  /** The job's own output, line by line, without the newline. */
  onOutput?(stream: "stdout" | "stderr", line: string): void;
  /** The pid of the child that runs this attempt, as soon as it is known. */
  onSpawn?(pid: number): void;
  /** The daemon allows this job's unscoped grants (`--allow-unscoped`). @default false */
  readonly allowUnscoped?: boolean;
  /** Run the child as this uid/gid (the daemon must be root). @default the daemon's own */
  readonly childUser?: ChildUser;
}

/** setTimeout fires at once for longer delays (they overflow a 32-bit int). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws a TypeError/RangeError naming what is wrong with `request`; nothing is spawned for it. */
export function checkRequest(request: IsolatedRunRequest): void {
  const where = `Cannot run ${request.jobName} isolated as`;
  if (typeof request.moduleUrl !== "string" || !request.moduleUrl.startsWith("file://")) {
    throw new TypeError(
      `${where} 'moduleUrl' must be a file:// URL: current value is ${request.moduleUrl}`,
    );
  }
  if (typeof request.exportName !== "string" || request.exportName === "") {
    throw new TypeError(`${where} 'exportName' must be a non-empty string`);
  }
  if (request.mode !== "handle" && request.mode !== "failed") {
    throw new TypeError(
      `${where} 'mode' must be "handle" or "failed": current value is ${request.mode}`,
    );
  }
  if (
    !Number.isFinite(request.timeoutMs) || request.timeoutMs < 0 ||
    request.timeoutMs > MAX_TIMER_MS
  ) {
    throw new RangeError(
      `${where} 'timeoutMs' must be between 0 and ${MAX_TIMER_MS} ms: current value is ${request.timeoutMs}`,
    );
  }
  const limit = request.memoryLimitMb;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < MIN_MEMORY_LIMIT_MB)) {
    throw new RangeError(
      `${where} 'memoryLimitMb' must be an integer of at least ${MIN_MEMORY_LIMIT_MB} (an idle child uses ~33 MB): current value is ${limit}`,
    );
  }
}
