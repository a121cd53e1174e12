/** Shared setup for the isolated-executor tests: fixture URLs, a request builder, a runner that records output. */
import { fileURLToPath } from "node:url";
import type { IsolatedRunRequest } from "../src/executor/isolated_request.ts";
import type { AttemptOutcome } from "../src/executor/outcome.ts";
import { type IsolatedRunOptions, runIsolated } from "../src/executor/subprocess_executor.ts";

export const PROJECT_ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

export function fixtureUrl(file: string): string {
  return new URL(`./fixtures/isolated_jobs/${file}`, import.meta.url).href;
}

export function fixturePath(file: string): string {
  return fileURLToPath(fixtureUrl(file));
}

/** A request for `exportName` in a fixture file; the job name is the export name. */
export function jobRequest(
  file: string,
  exportName: string,
  overrides: Partial<IsolatedRunRequest> = {},
): IsolatedRunRequest {
  return {
    moduleUrl: fixtureUrl(file),
    exportName,
    jobName: exportName,
    attempt: 1,
    jobId: "17",
    uuid: "9d3c0b9e-7d1e-4f3a-9d55-0a1b2c3d4e5f",
    queue: "default",
    connection: "database",
    timeoutMs: 10_000,
    permissions: {},
    mode: "handle",
    ...overrides,
  };
}

export interface RecordedRun {
  readonly outcome: AttemptOutcome;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly elapsedMs: number;
  readonly pid: number | undefined;
}

/** Runs `request` with `runIsolated` against this repo, recording output and timing. */
export async function runRecorded(
  request: IsolatedRunRequest,
  options: Partial<IsolatedRunOptions> = {},
): Promise<RecordedRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let pid: number | undefined;
  const started = performance.now();
  const outcome = await runIsolated(request, {
    projectRoot: PROJECT_ROOT,
    ...options,
    onOutput(stream, line) {
      (stream === "stdout" ? stdout : stderr).push(line);
      options.onOutput?.(stream, line);
    },
    onSpawn(childPid) {
      pid = childPid;
      options.onSpawn?.(childPid);
    },
  });
  return { outcome, stdout, stderr, elapsedMs: performance.now() - started, pid };
}

/** The error of an outcome that has one (fails the test otherwise). */
export function outcomeError(outcome: AttemptOutcome): Error {
  if (!("error" in outcome)) {
    throw new Error(`expected an outcome with an error, got ${outcome.kind}`);
  }
  return outcome.error;
}

/** True while `/proc/<pid>` shows a live (non-zombie) process. */
export function isAlive(pid: number): boolean {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

/** Polls `/proc/<pid>` every 5 ms until it is gone or `limitMs` passed; returns how long it took. */
export async function waitUntilGone(pid: number, limitMs: number): Promise<number> {
  const started = performance.now();
  while (isAlive(pid)) {
    if (performance.now() - started > limitMs) {
      throw new Error(`process ${pid} still alive after ${limitMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}
