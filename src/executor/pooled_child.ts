/**
 * One child process of a job class, from spawn to exit: it loads the class
 * once, reports ready, then runs jobs one at a time over the nonce-framed
 * protocol (protocol.ts). For each job it enforces the deadline, the memory
 * limit and a forced shutdown, and reports the facts the outcome is decided
 * from. Anything that is not a clean result — a timeout, a kill, a protocol
 * break, an exit, a job that called `Deno.exit` — leaves the child dead or
 * dying, never reusable.
 */
import type { ChildVerdict } from "./child_outcome.ts";
import { spawnChild, type SpawnedChild } from "./child_process.ts";
import { type ChildProfile, spawnOptionsOf } from "./child_profile.ts";
import { ChildStreams } from "./child_streams.ts";
import { LazyDeadline } from "./lazy_deadline.ts";
import {
  type ChildResult,
  createNonce,
  encodePingCommand,
  encodeRunCommand,
  type JobRequest,
  parseFrameBody,
} from "./protocol.ts";
import { monitorRss, readRss, type RssMonitor } from "./rss_monitor.ts";
import type {
  ChildState,
  PooledChildOptions,
  RunOptions,
  RunReport,
  StartReport,
  SupervisedFacts,
} from "./pooled_child_types.ts";

export type {
  ChildState,
  PooledChildOptions,
  RunOptions,
  RunReport,
  StartReport,
  SupervisedFacts,
} from "./pooled_child_types.ts";

interface CurrentRun {
  readonly seq: number;
  readonly options: RunOptions;
  readonly settle: (report: RunReport) => void;
  timer?: ReturnType<typeof setTimeout>;
  result?: ChildResult;
  last?: boolean;
  markerSeen: boolean;
}

/** After a result frame, how long the stderr marker may lag before the child counts as broken. */
const MARKER_WAIT_MS = 1000;
/** A child that closes stdout but is still running after this is breaking the protocol. */
const STDOUT_EOF_GRACE_MS = 250;
/** Output lines kept from before the first job (a module's top level may print). */
const START_OUTPUT_LINES = 50;
const encoder = new TextEncoder();

export class PooledChild {
  readonly profile: ChildProfile;
  readonly pid: number;
  /** Resolves once the class is loaded (ok) or the child failed to start. */
  readonly ready: Promise<StartReport>;
  /** Resolves after the child has exited and its pipes are read. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Jobs this child ran to a clean result. */
  jobsRun = 0;
  /** Output written before the first job, handed to that job's listener. */
  readonly startOutput: Array<["stdout" | "stderr", string]> = [];
  /** performance.now() when the child last became idle. */
  idleSince = 0;
  readonly #o: PooledChildOptions;
  readonly #child: SpawnedChild;
  readonly #nonce = createNonce();
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #streams: ChildStreams;
  readonly #rss: RssMonitor | undefined;
  readonly #startTimer: ReturnType<typeof setTimeout>;
  /** The running job's deadline (a lazy timer: no timer call per job). */
  readonly #deadline = new LazyDeadline(() => {
    if (this.#current && this.#setVerdict({ type: "timeout" })) {
      this.#child.terminate(this.#o.killGraceMs);
    }
  });
  #state: ChildState = "starting";
  #verdict: ChildVerdict | undefined;
  #seq = 0;
  #current: CurrentRun | undefined;
  #lastOutput: RunOptions["onOutput"];
  #ping: { seq: number; answer: (healthy: boolean) => void } | undefined;
  #settleStart!: (report: StartReport) => void;

  /** Spawns the child; throws if the process cannot be started. */
  constructor(options: PooledChildOptions) {
    this.#o = options;
    this.profile = options.profile;
    this.#child = spawnChild(spawnOptionsOf(options.profile));
    this.pid = this.#child.pid;
    this.ready = new Promise((resolve) => this.#settleStart = resolve);
    this.#stdin = this.#child.stdin.getWriter();
    this.#send(`${this.#nonce}\n${JSON.stringify(options.profile.setup)}\n`);
    this.#streams = new ChildStreams(this.#child, this.#nonce, {
      onFrame: (body) => this.#onFrame(body),
      onStderrMarker: (seq) => this.#onMarker(seq),
      onOutput: (stream, line) => this.#onOutput(stream, line),
      onStdoutEnd: () => this.#onStdoutEnd(),
      onStderrEnd: () => this.#maybeComplete(),
    });
    const limitMb = options.profile.memoryLimitMb;
    this.#rss = limitMb === undefined ? undefined : monitorRss(this.pid, {
      limitMb,
      pollMs: options.rssPollMs,
      onExceeded: (rssMb, peakMb) => this.#kill({ type: "memory", rssMb, peakMb }),
    });
    this.#startTimer = setTimeout(
      () => this.#kill({ type: "start-timeout", ms: options.startTimeoutMs }),
      options.startTimeoutMs,
    );
    this.exited = this.#watchExit();
  }

  get state(): ChildState {
    return this.#state;
  }

  /** Current RSS in MB, or undefined once the process is gone. */
  rssMb(): number | undefined {
    return readRss(this.pid)?.rssMb;
  }

  /** Runs one job; the child must be idle. Resolves with the facts, never rejects. */
  run(job: JobRequest, options: RunOptions): Promise<RunReport> {
    if (this.#state !== "idle") throw new Error(`a ${this.#state} child cannot take a job`);
    this.#state = "busy";
    this.#verdict = undefined;
    this.#streams.resetTail();
    this.#lastOutput = options.onOutput;
    const seq = ++this.#seq;
    return new Promise<RunReport>((settle) => {
      const run: CurrentRun = { seq, options, settle, markerSeen: false };
      this.#current = run;
      if (options.timeoutMs > 0) this.#deadline.set(options.timeoutMs);
      if (options.signal?.aborted) return this.#kill({ type: "shutdown" });
      options.signal?.addEventListener("abort", this.#onAbort, { once: true });
      this.#send(encodeRunCommand(seq, options.timeoutMs, job));
    });
  }

  /** A health check through the child's main thread and its Worker; false = killed. */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.#state !== "idle") return Promise.resolve(false);
    this.#state = "checking";
    const seq = ++this.#seq;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#kill({
          type: "protocol",
          reason: `it did not answer a health check in ${timeoutMs} ms`,
        });
      }, timeoutMs);
      this.#ping = {
        seq,
        answer: (healthy) => {
          clearTimeout(timer);
          this.#ping = undefined;
          if (healthy && this.#state === "checking") this.#state = "idle";
          resolve(healthy);
        },
      };
      this.#send(encodePingCommand(seq));
    });
  }

  /** Retires the child: stdin EOF makes the runner exit; SIGKILL if it lingers. */
  close(): Promise<Deno.CommandStatus> {
    if (this.#state !== "exited" && this.#state !== "closing") {
      this.#state = "closing";
      this.#stdin.close().catch(() => {});
      const timer = setTimeout(() => this.#child.killGroup("SIGKILL"), this.#o.killGraceMs);
      void this.exited.then(() => clearTimeout(timer));
    }
    return this.exited;
  }

  /** Kills the child's process group now. */
  kill(): Promise<Deno.CommandStatus> {
    this.#kill({ type: "shutdown" });
    return this.exited;
  }

  #onAbort = () => this.#kill({ type: "shutdown" });

  /** Records the first verdict of this phase (a protocol break overrides a result). */
  #setVerdict(next: ChildVerdict): boolean {
    const verdict = this.#verdict;
    if (verdict && !(next.type === "protocol" && verdict.type === "result")) return false;
    this.#verdict = next;
    return true;
  }

  #kill(verdict: ChildVerdict): void {
    if (this.#state === "exited") return;
    // A child being retired without a job: a late verdict changes nothing.
    if (this.#state !== "closing" || this.#current) this.#setVerdict(verdict);
    if (this.#state === "idle" || this.#state === "checking") this.#state = "closing";
    this.#child.killGroup("SIGKILL");
  }

  #send(text: string): void {
    // Not awaited: a broken pipe means the child is gone, and its exit decides.
    this.#stdin.write(encoder.encode(text)).catch(() => {});
  }

  #onOutput(stream: "stdout" | "stderr", line: string): void {
    const listener = this.#current?.options.onOutput ?? this.#lastOutput;
    if (listener) {
      try {
        listener(stream, shownLine(line));
      } catch {
        // A listener's error must not decide the job's outcome.
      }
    } else if (this.jobsRun === 0 && this.startOutput.length < START_OUTPUT_LINES) {
      this.startOutput.push([stream, line]);
    }
  }

  #onFrame(body: string): void {
    let frame;
    try {
      frame = parseFrameBody(body);
    } catch (error) {
      return this.#broken(`its frame is unreadable (${(error as Error).message})`);
    }
    switch (frame.type) {
      case "ready":
        if (this.#state !== "starting") return this.#broken("it reported ready twice");
        clearTimeout(this.#startTimer);
        this.#state = "idle";
        this.idleSince = performance.now();
        this.#settleStart({ ok: true });
        return;
      case "start-failed":
        if (this.#state !== "starting") return this.#broken("it reported a load failure late");
        // The runner exits right after; the exit settles the start with this verdict.
        this.#setVerdict({ type: "start-failed", error: frame.error });
        return;
      case "pong":
        if (this.#ping?.seq !== frame.seq) return this.#broken("it answered a ping never sent");
        this.#ping.answer(true);
        return;
      case "result": {
        const run = this.#current;
        if (!run || run.seq !== frame.seq) {
          return this.#broken("it wrote a result for a job it was not running");
        }
        if (run.result) return this.#broken("it wrote a second result frame");
        run.result = frame.result;
        run.last = frame.last === true;
        if (!frame.marked) run.markerSeen = true; // the job wrote no stderr: nothing to wait for
        this.#setVerdict({ type: "result", result: frame.result });
        if (!run.markerSeen && !this.#streams.stderrEnded) {
          // The result is in: the job's deadline no longer matters, only the marker's.
          this.#deadline.clear();
          run.timer = setTimeout(() => {
            run.last = true; // the stderr marker never came: the protocol is off
            run.markerSeen = true;
            this.#maybeComplete();
          }, MARKER_WAIT_MS);
        }
        this.#maybeComplete();
      }
    }
  }

  #onMarker(seq: number): void {
    if (this.#current?.seq === seq) {
      this.#current.markerSeen = true;
      this.#maybeComplete();
    }
  }

  /** A clean result completes the run once the job's stderr is read too. */
  #maybeComplete(): void {
    const run = this.#current;
    if (!run?.result || (!run.markerSeen && !this.#streams.stderrEnded)) return;
    if (this.#verdict?.type !== "result" || this.#state !== "busy") return;
    this.#endRun(run);
    const reusable = !run.last && run.result.kind !== "timeout";
    if (reusable) {
      this.jobsRun++;
      this.#state = "idle";
      this.idleSince = performance.now();
    } else {
      // It exits by itself (a timeout, a dead Worker); make sure it does.
      this.#state = "closing";
      this.#child.terminate(this.#o.killGraceMs);
    }
    run.settle({ facts: this.#facts(), reusable });
  }

  #endRun(run: CurrentRun): void {
    this.#deadline.clear();
    clearTimeout(run.timer);
    run.options.signal?.removeEventListener("abort", this.#onAbort);
    this.#current = undefined;
  }

  #broken(reason: string): void {
    this.#kill({ type: "protocol", reason });
  }

  #onStdoutEnd(): void {
    if (this.#state === "exited" || this.#state === "closing") return;
    // Dying or broken: either way it must not be handed a job while its exit is on the way.
    if (this.#state === "idle" || this.#state === "checking") this.#state = "closing";
    // Exiting closes stdout a moment before the exit status arrives: only a child that lives on is broken.
    const timer = setTimeout(() => this.#broken("it closed its stdout"), STDOUT_EOF_GRACE_MS);
    void this.exited.then(() => clearTimeout(timer));
  }

  #facts(extra: Partial<SupervisedFacts> = {}): SupervisedFacts {
    return {
      ...(this.#verdict ? { verdict: this.#verdict } : {}),
      stderrTail: [...this.#streams.stderrTail],
      heapExhausted: this.#streams.heapExhausted,
      peakRssMb: this.#rss?.peakMb ?? 0,
      ...extra,
    };
  }

  async #watchExit(): Promise<Deno.CommandStatus> {
    const status = await this.#child.status;
    const wasStarting = this.#state === "starting";
    this.#state = "exited";
    clearTimeout(this.#startTimer);
    this.#deadline.dispose();
    this.#rss?.stop();
    // Whatever the job spawned is in the child's group: it goes with the child.
    this.#child.killGroup("SIGKILL");
    await this.#stdin.close().catch(() => {});
    await this.#streams.drained();
    this.#ping?.answer(false);
    const run = this.#current;
    if (run) {
      this.#endRun(run);
      // A result frame alone (its marker never read) still counts; the child is gone either way.
      run.settle({ facts: this.#facts({ status }), reusable: false });
    }
    if (wasStarting) {
      this.#settleStart({ ok: false, facts: this.#facts({ status, duringStart: true }) });
    }
    return status;
  }
}

/**
 * A job's output line as logged: cut at 16 KiB (the daemon logs it, and a
 * job printing megabytes must not cost the daemon megabytes per line).
 */
const MAX_OUTPUT_LINE_CHARS = 16 * 1024;

function shownLine(line: string): string {
  if (line.length <= MAX_OUTPUT_LINE_CHARS) return line;
  const cut = line.length - MAX_OUTPUT_LINE_CHARS;
  return `${line.slice(0, MAX_OUTPUT_LINE_CHARS)} … [${cut} more characters cut]`;
}
