/**
 * A job class's back-off after its children fail to start: no new child for
 * 1 s after a failed start, doubling per consecutive failure up to 60 s; a
 * successful start resets it. Meanwhile the last failure is what attempts get.
 */
import type { SupervisedFacts } from "./pooled_child_types.ts";

/** A start failure handed to an attempt; `note` says when it is a remembered one. */
export interface StartFailure {
  readonly facts: SupervisedFacts;
  readonly note: string;
  readonly startOutput: ReadonlyArray<["stdout" | "stderr", string]>;
}

const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

export class StartBackoff {
  #failures = 0;
  #until = 0;
  #last: { readonly failure: StartFailure; readonly at: number } | undefined;

  /** True while no child of the class may be started. */
  get active(): boolean {
    return performance.now() < this.#until;
  }

  /** Records a failed start; returns how long the class is now backed off, in ms. */
  failed(facts: SupervisedFacts, startOutput: StartFailure["startOutput"]): number {
    this.#failures++;
    const backoffMs = Math.min(FIRST_BACKOFF_MS * 2 ** (this.#failures - 1), MAX_BACKOFF_MS);
    const now = performance.now();
    this.#until = now + backoffMs;
    this.#last = { failure: { facts, note: "", startOutput }, at: now };
    return backoffMs;
  }

  /** A child started: the class is healthy again. */
  succeeded(): void {
    this.#failures = 0;
    this.#until = 0;
    this.#last = undefined;
  }

  /** While backed off, the last failure with a note saying when it happened; else undefined. */
  remembered(): StartFailure | undefined {
    const last = this.#last;
    const now = performance.now();
    if (!last || now >= this.#until) return undefined;
    const ago = ((now - last.at) / 1000).toFixed(1);
    const next = ((this.#until - now) / 1000).toFixed(1);
    return {
      facts: last.failure.facts,
      note: ` (the last child of this job class failed to start ${ago} s ago; ` +
        `the next start is tried in ${next} s)`,
      startOutput: [],
    };
  }
}
