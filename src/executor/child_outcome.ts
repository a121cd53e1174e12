/**
 * One pure decision: what a child's run of one job (or its failure to start)
 * means as an AttemptOutcome. The executor gathers the facts (the first
 * verdict, the exit status, the tail of stderr); this file only reads them.
 */
import type { SupervisedFacts } from "./pooled_child_types.ts";
import {
  ChildCrashedError,
  deserializeError,
  MemoryLimitExceededError,
  type SerializedError,
  TimeoutExceededError,
} from "../errors.ts";
import { findDenial, permissionDeniedError } from "./denial_message.ts";
import type { AttemptOutcome } from "./outcome.ts";
import { CHILD_EXIT_MEANING, type ChildResult } from "./protocol.ts";

/** The first thing that settled the run: a result frame, or a reason the daemon killed the child. */
export type ChildVerdict =
  | { readonly type: "result"; readonly result: ChildResult }
  | { readonly type: "timeout" }
  | { readonly type: "memory"; readonly rssMb: number; readonly peakMb: number }
  | { readonly type: "shutdown" }
  | { readonly type: "protocol"; readonly reason: string }
  /** The child could not load the job class (its module threw, no such export, …). */
  | { readonly type: "start-failed"; readonly error: SerializedError }
  /** The child did not report ready within the start-up deadline. */
  | { readonly type: "start-timeout"; readonly ms: number };

export interface ChildRunFacts extends SupervisedFacts {
  readonly jobName: string;
  readonly moduleUrl: string;
  /** Milliseconds; 0 = none. */
  readonly timeoutMs: number;
  readonly memoryLimitMb?: number;
}

/** How V8 ends the process at the heap limit (exit code 133); a job's own `Deno.exit(133)` has no signal. */
const HEAP_OOM_SIGNAL = "SIGTRAP";

export function decideOutcome(facts: ChildRunFacts): AttemptOutcome {
  const { jobName, verdict } = facts;
  switch (verdict?.type) {
    case "result":
      return resultOutcome(facts, verdict.result);
    case "timeout":
      return timeoutOutcome(facts);
    case "memory":
      return {
        kind: "memory",
        error: new MemoryLimitExceededError(
          `${jobName} used ${
            mb(verdict.peakMb)
          } MB of memory (RSS), over its memoryLimit of ${facts.memoryLimitMb} MB, and was killed`,
        ),
      };
    case "shutdown":
      return crashed(`${jobName} was killed by a forced shutdown before it finished`);
    case "protocol":
      return crashed(`${jobName}'s child broke the protocol: ${verdict.reason}`);
    case "start-failed":
      return loadFailedOutcome(facts, verdict.error);
    case "start-timeout":
      return crashed(
        `${jobName}'s child did not finish loading ${facts.moduleUrl} within ${
          verdict.ms / 1000
        } s (the pool's start-up deadline) and was killed`,
      );
  }
  if (facts.heapExhausted || facts.status?.signal === HEAP_OOM_SIGNAL) {
    const limit = facts.memoryLimitMb === undefined
      ? "V8's default heap limit"
      : `the heap limit set by its memoryLimit of ${facts.memoryLimitMb} MB`;
    const peak = facts.peakRssMb > 0 ? `, peak RSS ${mb(facts.peakRssMb)} MB` : "";
    return {
      kind: "memory",
      error: new MemoryLimitExceededError(
        `${jobName} ran out of memory: its JavaScript heap reached ${limit}${peak} (V8: Fatal JavaScript out of memory)`,
      ),
    };
  }
  const how = facts.status ? describeExit(facts.status) : "ended";
  const when = facts.duringStart ? "while loading the job" : "without reporting a result";
  return crashed(`${jobName}'s child ${how} ${when}${stderrSuffix(facts)}`);
}

/** A load error as the attempt's one clear failure; Deno's permission sentence means "denied". */
export function loadFailedOutcome(
  facts: Pick<ChildRunFacts, "jobName" | "moduleUrl">,
  loadError: SerializedError,
  note = "",
): AttemptOutcome {
  // A static import outside the grant fails the load with Deno's permission sentence.
  const denial = findDenial(loadError);
  if (denial) return { kind: "denied", error: permissionDeniedError(facts.jobName, denial) };
  const error = crashedError(
    `Could not load ${facts.jobName} from ${facts.moduleUrl}: ${loadError.name}: ${loadError.message}${note}`,
  );
  error.cause = deserializeError(loadError);
  return { kind: "crashed", error };
}

function resultOutcome(facts: ChildRunFacts, result: ChildResult): AttemptOutcome {
  switch (result.kind) {
    case "success":
      return { kind: "success" };
    case "released":
      return { kind: "released", delaySeconds: result.delaySeconds };
    case "failed":
      return { kind: "failed", error: deserializeError(result.error) };
    case "timeout":
      return timeoutOutcome(facts);
    case "exit":
      return crashed(
        `${facts.jobName}'s child exited with code ${result.code} without reporting a result: the job called Deno.exit(${result.code})${
          stderrSuffix(facts)
        }`,
      );
    case "error": {
      const denial = findDenial(result.error);
      if (denial) return { kind: "denied", error: permissionDeniedError(facts.jobName, denial) };
      return { kind: "error", error: deserializeError(result.error) };
    }
  }
}

function timeoutOutcome({ jobName, timeoutMs }: ChildRunFacts): AttemptOutcome {
  const seconds = timeoutMs / 1000;
  return {
    kind: "timeout",
    error: new TimeoutExceededError(
      `${jobName} has timed out after ${seconds} s and was killed (timeout = ${seconds})`,
    ),
  };
}

function describeExit(status: Deno.CommandStatus): string {
  if (status.signal) return `was killed by ${status.signal}`;
  const meaning = CHILD_EXIT_MEANING[status.code];
  return meaning
    ? `exited with code ${status.code} (${meaning})`
    : `exited with code ${status.code}`;
}

function stderrSuffix({ stderrTail }: ChildRunFacts): string {
  const lines = stderrTail.filter((line) => line.trim() !== "");
  return lines.length === 0 ? "" : `; last stderr:\n  ${lines.join("\n  ")}`;
}

function crashed(message: string): AttemptOutcome {
  return { kind: "crashed", error: crashedError(message) };
}

function crashedError(message: string): ChildCrashedError {
  return new ChildCrashedError(message);
}

function mb(value: number): number {
  return Math.round(value);
}
