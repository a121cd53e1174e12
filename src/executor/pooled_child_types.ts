/** The shapes a pooled child deals in: its options, the facts of a run, its states. */
import type { ChildVerdict } from "./child_outcome.ts";
import type { ChildProfile } from "./child_profile.ts";

export interface PooledChildOptions {
  readonly profile: ChildProfile;
  /** Milliseconds from SIGTERM to SIGKILL, and how long a retired child may take to exit. */
  readonly killGraceMs: number;
  /** Milliseconds between RSS polls (only when the profile has a memory limit). */
  readonly rssPollMs: number;
  /** Milliseconds the child has to load the class and report ready. */
  readonly startTimeoutMs: number;
}

/** What the outcome of a run (or of a failed start) is decided from. */
export interface SupervisedFacts {
  readonly verdict?: ChildVerdict;
  /** How the child exited; absent when it lives on. */
  readonly status?: Deno.CommandStatus;
  readonly duringStart?: boolean;
  readonly stderrTail: readonly string[];
  readonly heapExhausted: boolean;
  readonly peakRssMb: number;
}

export type StartReport = { readonly ok: true } | {
  readonly ok: false;
  readonly facts: SupervisedFacts;
};

export interface RunReport {
  readonly facts: SupervisedFacts;
  /** A clean result from a child that can take another job. */
  readonly reusable: boolean;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onOutput?: (stream: "stdout" | "stderr", line: string) => void;
}

export type ChildState = "starting" | "idle" | "busy" | "checking" | "closing" | "exited";
