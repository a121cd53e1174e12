/**
 * One pure decision: what a finished child run means as an AttemptOutcome.
 * The executor gathers the facts (the first verdict, the exit status, the
 * tail of stderr); this file only reads them.
 */
import {
  ChildCrashedError,
  deserializeError,
  MemoryLimitExceededError,
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
  | { readonly type: "protocol"; readonly reason: string };

export interface ChildRunFacts {
  readonly jobName: string;
  readonly moduleUrl: string;
  /** Milliseconds; 0 = none. */
  readonly timeoutMs: number;
  readonly memoryLimitMb?: number;
  readonly verdict?: ChildVerdict;
  readonly status: Deno.CommandStatus;
  /** The last lines the child wrote to stderr. */
  readonly stderrTail: readonly string[];
  /** stderr carried V8's "Fatal JavaScript out of memory". */
  readonly heapExhausted: boolean;
  /** Highest RSS seen by the monitor, in MB (0 when not monitored). */
  readonly peakRssMb: number;
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
  }
  if (facts.heapExhausted || facts.status.signal === HEAP_OOM_SIGNAL) {
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
  return crashed(
    `${jobName}'s child ${describeExit(facts.status)} without reporting a result${
      stderrSuffix(facts)
    }`,
  );
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
    case "load-failed": {
      // A static import outside the grant fails the load with Deno's permission sentence.
      const denial = findDenial(result.error);
      if (denial) return { kind: "denied", error: permissionDeniedError(facts.jobName, denial) };
      const error = crashedError(
        `Could not load ${facts.jobName} from ${facts.moduleUrl}: ${result.error.name}: ${result.error.message}`,
      );
      error.cause = deserializeError(result.error);
      return { kind: "crashed", error };
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
