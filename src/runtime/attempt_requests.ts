/** The context fields of an attempt and the request an isolated attempt sends its child. */
import type { JobRef } from "../events.ts";
import type { IsolatedRunOptions } from "../executor/subprocess_executor.ts";
import type { RegisteredJob } from "../jobs/registry.ts";
import type { ParsedPayload } from "../payload/laravel_payload.ts";
import type { ProcessorDeps } from "./processor_deps.ts";

export function isolatedRequest(
  ref: JobRef,
  entry: RegisteredJob,
  payload: ParsedPayload,
  timeout: number,
  mode: "handle" | "failed",
) {
  return {
    moduleUrl: entry.moduleUrl!,
    exportName: entry.exportName!,
    jobName: entry.name,
    ...(payload.command !== undefined ? { command: payload.command } : {}),
    ...contextInfo(ref),
    timeoutMs: timeout * 1000,
    ...(entry.config.memoryLimit !== undefined ? { memoryLimitMb: entry.config.memoryLimit } : {}),
    permissions: entry.config.permissions,
    mode,
  };
}

/** The executor options of one isolated attempt (its `handle()` or its `failed()`). */
export function isolatedOptions(
  ref: JobRef,
  entry: RegisteredJob,
  deps: ProcessorDeps,
): IsolatedRunOptions {
  const { options } = deps;
  return {
    projectRoot: options.projectRoot,
    signal: deps.forceSignal,
    allowUnscoped: options.allowUnscoped.includes(entry.name),
    ...(options.childUser ? { childUser: options.childUser } : {}),
    onOutput: (stream, line) => deps.events.emit("job:output", { job: ref, stream, line }),
  };
}

export function contextInfo(ref: JobRef) {
  return {
    attempt: ref.attempt,
    jobId: ref.id,
    uuid: ref.uuid,
    queue: ref.queue,
    connection: ref.connection,
  };
}
