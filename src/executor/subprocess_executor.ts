/**
 * Runs one attempt of an isolated job in a fresh permission-narrowed child
 * process of its own: `deno run --no-prompt --cached-only --allow-<exactly
 * what was declared> child/runner.ts`, with an empty environment apart from
 * the declared variables. The child can be killed at its timeout and memory
 * limit, and dies with the daemon (it watches its stdin for EOF). The daemon
 * runs isolated jobs through the pool (isolated_pool.ts), on the same child.
 *
 * Loading the job needs read access to its module files; that grant is
 * revoked inside the child after the module has loaded, before `handle()`.
 */
import { isAbsolute, resolve } from "node:path";
import { type ChildProfile, profileSettings, resolveProfile } from "./child_profile.ts";
import { crashed, runOnChild, shutdownBeforeStart, startFailureOutcome } from "./child_run.ts";
import {
  checkRequest,
  type IsolatedRunOptions,
  type IsolatedRunRequest,
} from "./isolated_request.ts";
import type { AttemptOutcome } from "./outcome.ts";
import { PooledChild } from "./pooled_child.ts";

export type { IsolatedRunOptions } from "./isolated_request.ts";

/** A one-off child has this long to load its class (the pool's is configurable). */
const START_TIMEOUT_MS = 20_000;

/**
 * Runs `request` in a child and reports what the attempt came to. Bad options
 * or a bad request (invalid permissions, a memory limit under 96 MB) throw a
 * TypeError/RangeError; everything the child does becomes an outcome.
 */
export async function runIsolated(
  request: IsolatedRunRequest,
  options: IsolatedRunOptions,
): Promise<AttemptOutcome> {
  const { signal } = options;
  const { projectRoot, killGraceMs, rssPollMs } = checkRunOptions(options);
  checkRequest(request);
  if (signal?.aborted) return shutdownBeforeStart(request.jobName);
  let profile: ChildProfile;
  try {
    profile = await resolveProfile(request, projectRoot, killGraceMs, profileSettings(options));
  } catch (error) {
    if (error instanceof TypeError) throw error; // a bad declaration
    return crashed((error as Error).message);
  }
  if (signal?.aborted) return shutdownBeforeStart(request.jobName);

  let child: PooledChild;
  try {
    child = new PooledChild({ profile, killGraceMs, rssPollMs, startTimeoutMs: START_TIMEOUT_MS });
  } catch (error) {
    return crashed(
      `Could not start the child process for ${request.jobName}: ${(error as Error).message}`,
    );
  }
  const onAbort = () => void child.kill();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const start = await child.ready;
    if (!start.ok) {
      return startFailureOutcome(request, start.facts, "", options, child.startOutput);
    }
    if (signal?.aborted) {
      await child.kill();
      return shutdownBeforeStart(request.jobName);
    }
    const { outcome } = await runOnChild(child, request, options);
    return outcome;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // One job per child here: its process group goes now, whatever the job left behind.
    await child.close();
  }
}

/** The options with defaults, checked; throws a TypeError/RangeError naming the bad one. */
export function checkRunOptions(options: IsolatedRunOptions): {
  projectRoot: string;
  killGraceMs: number;
  rssPollMs: number;
} {
  const { killGraceMs = 2000, rssPollMs = 25 } = options;
  if (typeof options.projectRoot !== "string" || !isAbsolute(options.projectRoot)) {
    throw new TypeError(
      `Cannot run an isolated job as 'projectRoot' must be an absolute path: current value is ${
        String(options.projectRoot)
      }`,
    );
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
  return { projectRoot: resolve(options.projectRoot), killGraceMs, rssPollMs };
}
