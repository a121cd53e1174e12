/** What the daemon asks the subprocess executor to run. Everything here comes from the registered class, except `command` (payload data, decoded inside the sandbox). */
import type { SerializedError } from "../errors.ts";
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
