/**
 * Reads a child's stdout and stderr for as long as it lives: splits frames
 * (found by the nonce anywhere in a line, so a job's unterminated last line
 * cannot hide one) from the job's own output, sees the stderr markers, keeps
 * the tail of stderr for crash messages and notices V8's out-of-memory report.
 */
import type { SpawnedChild } from "./child_process.ts";
import { forEachLine } from "./line_reader.ts";

export interface ChildStreamHandlers {
  /** What follows the nonce on a stdout line. */
  onFrame(body: string): void;
  /** The runner's stderr marker for job `seq`: the job's stderr before its result is read. */
  onStderrMarker(seq: number): void;
  onOutput(stream: "stdout" | "stderr", line: string): void;
  /** stdout reached EOF (the child exited, or closed it). */
  onStdoutEnd(): void;
  /** stderr reached EOF. */
  onStderrEnd(): void;
}

/** Lines of stderr kept for crash messages. */
const STDERR_TAIL_LINES = 12;
/** Upper bound on waiting for the pipes after exit (a grandchild outside the group may hold them). */
const PIPE_DRAIN_LIMIT_MS = 1000;
const HEAP_OOM_MARKERS = ["Fatal JavaScript out of memory", "Fatal process out of memory"];

export class ChildStreams {
  /** The last lines of stderr since `resetTail()`. */
  stderrTail: string[] = [];
  /** stderr carried V8's "Fatal JavaScript out of memory". */
  heapExhausted = false;
  stderrEnded = false;
  readonly #done: Promise<unknown>;

  constructor(child: SpawnedChild, nonce: string, handlers: ChildStreamHandlers) {
    const stdout = forEachLine(child.stdout, (line) => {
      const at = line.indexOf(nonce);
      if (at < 0) return handlers.onOutput("stdout", line);
      if (at > 0) handlers.onOutput("stdout", line.slice(0, at));
      handlers.onFrame(line.slice(at + nonce.length));
    }).catch(() => {}) // a broken pipe ends the output; the exit status still decides
      .finally(() => handlers.onStdoutEnd());

    const stderr = forEachLine(child.stderr, (line) => {
      const at = line.indexOf(nonce);
      if (at < 0) return this.#stderrLine(line, handlers);
      if (at > 0) this.#stderrLine(line.slice(0, at), handlers);
      const seq = Number(line.slice(at + nonce.length + 1));
      if (Number.isSafeInteger(seq)) handlers.onStderrMarker(seq);
    }).catch(() => {})
      .finally(() => {
        this.stderrEnded = true;
        handlers.onStderrEnd();
      });
    this.#done = Promise.all([stdout, stderr]);
  }

  /** Starts a new tail (at each job, so a crash message shows that job's stderr). */
  resetTail(): void {
    this.stderrTail = [];
  }

  /** Resolves once both pipes are read to the end, or after a second at most. */
  async drained(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<void>((resolve) => timer = setTimeout(resolve, PIPE_DRAIN_LIMIT_MS));
    try {
      await Promise.race([this.#done, limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  #stderrLine(line: string, handlers: ChildStreamHandlers): void {
    handlers.onOutput("stderr", line);
    if (HEAP_OOM_MARKERS.some((marker) => line.includes(marker))) this.heapExhausted = true;
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
  }
}
