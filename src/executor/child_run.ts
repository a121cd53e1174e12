/** One attempt on a ready child, and the outcome of an attempt whose child never got ready. */
import { ChildCrashedError } from "../errors.ts";
import { decideOutcome } from "./child_outcome.ts";
import type { IsolatedRunOptions, IsolatedRunRequest } from "./isolated_request.ts";
import type { AttemptOutcome } from "./outcome.ts";
import type { PooledChild, RunReport, SupervisedFacts } from "./pooled_child.ts";
import type { JobRequest } from "./protocol.ts";

type Output = Pick<IsolatedRunOptions, "onOutput" | "onSpawn" | "signal">;

/** Runs `request` on `child` (idle and ready) and decides the outcome. */
export async function runOnChild(
  child: PooledChild,
  request: IsolatedRunRequest,
  options: Output,
): Promise<{ readonly outcome: AttemptOutcome; readonly report: RunReport }> {
  const onOutput = safeListener(options.onOutput);
  notifySpawn(options, child.pid);
  if (onOutput && child.jobsRun === 0) {
    // What the module printed while it loaded belongs to the first job.
    for (const [stream, line] of child.startOutput.splice(0)) onOutput(stream, line);
  }
  const report = await child.run(jobRequestOf(request), {
    timeoutMs: request.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(onOutput ? { onOutput } : {}),
  });
  return { outcome: outcomeOf(request, report.facts), report };
}

/** The outcome of an attempt whose child failed to start; `note` is appended to the message. */
export function startFailureOutcome(
  request: IsolatedRunRequest,
  facts: SupervisedFacts,
  note: string,
  output: Output,
  startOutput: ReadonlyArray<["stdout" | "stderr", string]>,
): AttemptOutcome {
  const onOutput = safeListener(output.onOutput);
  if (onOutput) { for (const [stream, line] of startOutput) onOutput(stream, line); }
  const outcome = outcomeOf(request, { ...facts, duringStart: true });
  if (note && "error" in outcome) outcome.error.message += note;
  return outcome;
}

export function outcomeOf(request: IsolatedRunRequest, facts: SupervisedFacts): AttemptOutcome {
  return decideOutcome({
    ...facts,
    jobName: request.jobName,
    moduleUrl: request.moduleUrl,
    timeoutMs: request.timeoutMs,
    ...(request.memoryLimitMb === undefined ? {} : { memoryLimitMb: request.memoryLimitMb }),
  });
}

export function crashed(message: string): AttemptOutcome {
  return { kind: "crashed", error: new ChildCrashedError(message) };
}

export function shutdownBeforeStart(jobName: string): AttemptOutcome {
  return crashed(`${jobName} was not started: a forced shutdown was already under way`);
}

/** The per-job fields the child's Worker needs (the class itself is fixed in the child). */
function jobRequestOf(request: IsolatedRunRequest): JobRequest {
  const { jobName, attempt, jobId, uuid, queue, connection, mode } = request;
  const job: { -readonly [K in keyof JobRequest]: JobRequest[K] } = {
    jobName,
    attempt,
    jobId,
    uuid,
    queue,
    connection,
    mode,
  };
  if (request.command !== undefined) job.command = request.command;
  if (request.error !== undefined) job.error = request.error;
  return job;
}

function notifySpawn(options: Output, pid: number): void {
  try {
    options.onSpawn?.(pid);
  } catch {
    // A listener's error must not leave the child unsupervised.
  }
}

function safeListener(
  listener: IsolatedRunOptions["onOutput"],
): ((stream: "stdout" | "stderr", line: string) => void) | undefined {
  if (!listener) return undefined;
  return (stream, line) => {
    try {
      listener(stream, line);
    } catch {
      // A listener's error must not decide the job's outcome.
    }
  };
}
