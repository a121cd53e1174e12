/**
 * Runs one attempt of an isolated job in its own permission-narrowed child
 * process: `deno run --no-prompt --cached-only --allow-<exactly what was
 * declared> child/runner.ts`, with an empty environment apart from the
 * declared variables. The child can be killed at its timeout and memory
 * limit, and dies with the daemon (it watches its stdin for EOF).
 *
 * Loading the job needs read access to its module files; that grant is
 * revoked inside the child after the module has loaded, before `handle()`.
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ChildCrashedError } from "../errors.ts";
import { MIN_MEMORY_LIMIT_MB } from "../jobs/job_config.ts";
import { decideOutcome } from "./child_outcome.ts";
import { spawnChild, type SpawnedChild } from "./child_process.ts";
import { superviseChild } from "./child_supervisor.ts";
import type { IsolatedRunRequest } from "./isolated_request.ts";
import { JOB_WORKER_URL, localModuleFiles } from "./module_graph.ts";
import type { AttemptOutcome } from "./outcome.ts";
import type { ChildUser } from "./child_user.ts";
import {
  grantCovers,
  isCoveredBy,
  permissionArgs,
  type ResolvedGrant,
  resolvePermissions,
} from "./permission_flags.ts";
import { type ChildSetup, createNonce } from "./protocol.ts";

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
  /** The child's pid, right after it was spawned. */
  onSpawn?(pid: number): void;
  /** The daemon allows this job's unscoped grants (`--allow-unscoped`). @default false */
  readonly allowUnscoped?: boolean;
  /** Run the child as this uid/gid (the daemon must be root). @default the daemon's own */
  readonly childUser?: ChildUser;
}

/** The fixed child entry: trusted code only, since its static graph is loaded unchecked. */
const RUNNER_PATH = fileURLToPath(new URL("./child/runner.ts", import.meta.url));
/** setTimeout fires at once for longer delays (they overflow a 32-bit int). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** KQueue's own `src/`: its files may be loaded by any job, wherever the project is. */
const KQUEUE_SRC_DIR = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

/**
 * Runs `request` in a child and reports what the attempt came to. Bad options
 * or a bad request (invalid permissions, a memory limit under 96 MB) throw a
 * TypeError/RangeError; everything the child does becomes an outcome.
 */
export async function runIsolated(
  request: IsolatedRunRequest,
  options: IsolatedRunOptions,
): Promise<AttemptOutcome> {
  const { signal, killGraceMs = 2000, rssPollMs = 25 } = options;
  const projectRoot = checkOptions(options, killGraceMs, rssPollMs);
  checkRequest(request);
  const declared = resolvePermissions(request.permissions, projectRoot, request.jobName, {
    allowUnscoped: options.allowUnscoped === true,
  });
  if (signal?.aborted) return shutdownBeforeStart(request.jobName);

  let loadReads: readonly string[];
  try {
    loadReads = await filesToLoad(request.moduleUrl, projectRoot);
  } catch (error) {
    return crashed(
      `Could not resolve the modules of ${request.jobName} (${request.moduleUrl}): ${
        errorText(error)
      }`,
    );
  }
  const memoryArgs = request.memoryLimitMb === undefined
    ? []
    : [`--v8-flags=--max-old-space-size=${request.memoryLimitMb}`];
  const args = [
    "run",
    "--no-prompt",
    "--cached-only",
    ...permissionArgs(declared, loadReads),
    ...memoryArgs,
    RUNNER_PATH,
  ];

  if (signal?.aborted) return shutdownBeforeStart(request.jobName);
  let child: SpawnedChild;
  try {
    child = spawnChild({
      args,
      cwd: projectRoot,
      env: childEnv(declared.env),
      ...(options.childUser ? { user: options.childUser } : {}),
    });
  } catch (error) {
    return crashed(`Could not start the child process for ${request.jobName}: ${errorText(error)}`);
  }
  try {
    options.onSpawn?.(child.pid);
  } catch {
    // A listener's error must not leave the child unsupervised.
  }

  const setup: ChildSetup = {
    request,
    graceMs: killGraceMs,
    // Only what the declaration does not cover: revoking a file drops any grant that contains it.
    revokeReads: loadReads.filter((file) => !grantCovers(declared.read, file)),
  };
  const facts = await superviseChild(child, {
    nonce: createNonce(),
    setup,
    killGraceMs,
    rssPollMs,
    ...(signal ? { signal } : {}),
    ...(options.onOutput ? { onOutput: options.onOutput.bind(options) } : {}),
  });
  return decideOutcome({
    ...facts,
    jobName: request.jobName,
    moduleUrl: request.moduleUrl,
    timeoutMs: request.timeoutMs,
    ...(request.memoryLimitMb === undefined ? {} : { memoryLimitMb: request.memoryLimitMb }),
  });
}

/** The job's graph and the Worker entry's graph, limited to the project and KQueue's `src/`. */
export async function filesToLoad(
  moduleUrl: string,
  projectRoot: string,
): Promise<readonly string[]> {
  const [jobFiles, workerFiles] = await Promise.all([
    localModuleFiles(moduleUrl, projectRoot),
    localModuleFiles(JOB_WORKER_URL, projectRoot),
  ]);
  const roots = [projectRoot, KQUEUE_SRC_DIR];
  // A static import of a file elsewhere (say /etc/shadow as text) stays ungranted, so it fails to load.
  return [...new Set([...workerFiles, ...jobFiles])].filter((file) => isCoveredBy(file, roots));
}

/**
 * Only the declared variables (all of the daemon's for an opted-in `"all"`),
 * plus what Deno itself needs; the job can read none of the extras.
 */
export function childEnv(declaredNames: ResolvedGrant): Record<string, string> {
  const env: Record<string, string> = declaredNames === "all" ? Deno.env.toObject() : {};
  for (const name of declaredNames === "all" ? [] : declaredNames) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  env.NO_COLOR = "1";
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir !== undefined) env.DENO_DIR = denoDir;
  return env;
}

function checkOptions(options: IsolatedRunOptions, killGraceMs: number, rssPollMs: number): string {
  const fail = (message: string): never => {
    throw new TypeError(`Cannot run an isolated job as ${message}`);
  };
  if (typeof options.projectRoot !== "string" || !isAbsolute(options.projectRoot)) {
    fail(`'projectRoot' must be an absolute path: current value is ${String(options.projectRoot)}`);
  }
  if (!Number.isFinite(killGraceMs) || killGraceMs < 0) {
    throw new RangeError(
      `Cannot run an isolated job as 'killGraceMs' must be a non-negative number: current value is ${killGraceMs}`,
    );
  }
  if (!Number.isFinite(rssPollMs) || rssPollMs <= 0) {
    throw new RangeError(
      `Cannot run an isolated job as 'rssPollMs' must be a positive number: current value is ${rssPollMs}`,
    );
  }
  return resolve(options.projectRoot);
}

function checkRequest(request: IsolatedRunRequest): void {
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

function shutdownBeforeStart(jobName: string): AttemptOutcome {
  return crashed(`${jobName} was not started: a forced shutdown was already under way`);
}

function crashed(message: string): AttemptOutcome {
  return { kind: "crashed", error: new ChildCrashedError(message) };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
