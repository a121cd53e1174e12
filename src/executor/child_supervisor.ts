/**
 * Watches one running child: feeds it the nonce and setup, reads its frames
 * and output, enforces the deadline, the memory limit and a forced shutdown,
 * and returns the facts once it has exited. The first verdict wins, except
 * that a protocol break overrides a result (a second frame voids the first).
 */
import type { ChildRunFacts, ChildVerdict } from "./child_outcome.ts";
import type { SpawnedChild } from "./child_process.ts";
import { readLines } from "./line_reader.ts";
import { type ChildSetup, parseFrameBody } from "./protocol.ts";
import { monitorRss, type RssMonitor } from "./rss_monitor.ts";

export interface SupervisionOptions {
  readonly nonce: string;
  readonly setup: ChildSetup;
  /** Milliseconds from SIGTERM to SIGKILL, and how long a child that reported may linger. */
  readonly killGraceMs: number;
  /** Milliseconds between RSS polls. */
  readonly rssPollMs: number;
  readonly signal?: AbortSignal;
  readonly onOutput?: (stream: "stdout" | "stderr", line: string) => void;
}

export type SupervisedFacts = Omit<
  ChildRunFacts,
  "jobName" | "moduleUrl" | "timeoutMs" | "memoryLimitMb"
>;

/** Lines of stderr kept for crash messages. */
const STDERR_TAIL_LINES = 12;
/** Upper bound on waiting for the pipes after exit (a grandchild outside the group may hold them). */
const PIPE_DRAIN_LIMIT_MS = 1000;
const HEAP_OOM_MARKERS = ["Fatal JavaScript out of memory", "Fatal process out of memory"];
/**
 * Longest output line passed on to the log: a job printing megabytes without
 * a newline would otherwise cost the daemon tens of MB (measured: 8 MB of
 * output took it from 64 to 135 MB RSS, past the default --memory).
 */
const MAX_OUTPUT_LINE_CHARS = 16 * 1024;

export async function superviseChild(
  child: SpawnedChild,
  options: SupervisionOptions,
): Promise<SupervisedFacts> {
  const { nonce, setup, killGraceMs, rssPollMs, signal } = options;
  const { timeoutMs, memoryLimitMb } = setup.request;
  let verdict: ChildVerdict | undefined;
  let running = true;
  let lingerTimer: ReturnType<typeof setTimeout> | undefined;
  let rss: RssMonitor | undefined;

  const emit = (stream: "stdout" | "stderr", line: string) => {
    if (!running || !options.onOutput) return;
    const shown = line.length <= MAX_OUTPUT_LINE_CHARS
      ? line
      : `${line.slice(0, MAX_OUTPUT_LINE_CHARS)} … [${
        line.length - MAX_OUTPUT_LINE_CHARS
      } more characters cut]`;
    try {
      options.onOutput(stream, shown);
    } catch {
      // A listener's error must not decide the job's outcome.
    }
  };

  const settle = (next: ChildVerdict): boolean => {
    if (verdict && !(next.type === "protocol" && verdict.type === "result")) return false;
    verdict = next;
    clearTimeout(deadlineTimer);
    rss?.stop();
    return true;
  };

  const deadlineTimer = timeoutMs > 0
    ? setTimeout(() => settle({ type: "timeout" }) && child.terminate(killGraceMs), timeoutMs)
    : undefined;
  if (memoryLimitMb !== undefined) {
    rss = monitorRss(child.pid, {
      limitMb: memoryLimitMb,
      pollMs: rssPollMs,
      onExceeded: (rssMb, peakMb) =>
        settle({ type: "memory", rssMb, peakMb }) && child.killGroup("SIGKILL"),
    });
  }
  const onAbort = () => settle({ type: "shutdown" }) && child.killGroup("SIGKILL");
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const stdin = child.stdin.getWriter();
  // Not awaited: the child reads it while we read its output.
  stdin.write(new TextEncoder().encode(`${nonce}\n${JSON.stringify(setup)}\n`)).catch(() => {});

  let frames = 0;
  const onFrame = (body: string) => {
    frames += 1;
    const broken = (reason: string) =>
      settle({ type: "protocol", reason }) && child.killGroup("SIGKILL");
    if (frames > 1) return broken("it wrote a second result frame");
    let result;
    try {
      result = parseFrameBody(body);
    } catch (error) {
      return broken(`its result frame is unreadable (${(error as Error).message})`);
    }
    if (settle({ type: "result", result })) {
      // The runner exits right after its frame; one that lingers is killed.
      lingerTimer = setTimeout(() => child.killGroup("SIGKILL"), killGraceMs);
    }
  };

  const stdoutDone = (async () => {
    for await (const line of readLines(child.stdout)) {
      // Found anywhere, so a job's unterminated last line cannot hide the frame.
      const at = line.indexOf(nonce);
      if (at < 0) {
        emit("stdout", line);
        continue;
      }
      if (at > 0) emit("stdout", line.slice(0, at));
      onFrame(line.slice(at + nonce.length));
    }
  })().catch(() => {}); // a broken pipe ends the output; the exit status still decides

  const stderrTail: string[] = [];
  let heapExhausted = false;
  const stderrDone = (async () => {
    for await (const line of readLines(child.stderr)) {
      emit("stderr", line);
      if (HEAP_OOM_MARKERS.some((marker) => line.includes(marker))) heapExhausted = true;
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    }
  })().catch(() => {});

  const status = await child.status;
  clearTimeout(deadlineTimer);
  clearTimeout(lingerTimer);
  rss?.stop();
  signal?.removeEventListener("abort", onAbort);
  // Whatever the job spawned is in the child's group: it goes with the child.
  child.killGroup("SIGKILL");
  await stdin.close().catch(() => {});
  await drainPipes(Promise.all([stdoutDone, stderrDone]));
  running = false;
  return { verdict, status, stderrTail, heapExhausted, peakRssMb: rss?.peakMb ?? 0 };
}

async function drainPipes(done: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<void>((resolve) => timer = setTimeout(resolve, PIPE_DRAIN_LIMIT_MS));
  try {
    await Promise.race([done, limit]);
  } finally {
    clearTimeout(timer);
  }
}
