/**
 * The lease supervisor: a Worker with a store connection of its own that
 * extends the reservations of the jobs in flight every `renewMs`, whatever
 * the daemon's main thread is doing (an inline job may hog it for seconds).
 *
 * It extends only while the main thread is alive: the main thread posts a
 * heartbeat several times per liveness limit, and once it has been silent
 * for `livenessMs` the supervisor stops extending, so a truly wedged
 * daemon's leases lapse and another daemon takes its jobs. When the main
 * thread answers again, extension resumes at once (a lease that has not
 * lapsed yet is still ours; one another worker took over is left alone).
 *
 * Loaded only by `lease_keeper.ts`; the extender module it imports comes
 * from the driver's own code (`LeaseSupport.extender`), never from a payload.
 */
import type { LeaseExtender, OpenLeaseExtender } from "../drivers/driver.ts";
import { type LogFormat, stderrLine } from "../log_line.ts";
import { decodeIdentity } from "./lease_identity.ts";
import { HOLD, LeaseMailbox } from "./lease_mailbox.ts";
import type { FromSupervisor, LeaseTiming, ToSupervisor } from "./lease_protocol.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToSupervisor>) => void) | null;
  postMessage(message: FromSupervisor): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
const startedAt = performance.now();

let extender: LeaseExtender | undefined;
let mailbox: LeaseMailbox | undefined;
/** A "drain" came before the connection was open: answered once it is. */
let drainAsked = false;
let timing: LeaseTiming | undefined;
let logFormat: LogFormat = "text";
/** hold/drop messages that came before the connection was open, in order. */
let early: ToSupervisor[] = [];
let lastHeard = performance.now();
let paused = false;
let round: Promise<void> | undefined;
let timer: ReturnType<typeof setInterval> | undefined;
let stopping = false;

scope.onmessage = ({ data: message }) => {
  const now = performance.now();
  if (paused) {
    paused = false;
    scope.postMessage({ type: "resumed", silentMs: Math.round(now - lastHeard) });
    lastHeard = now;
    extendRound(); // the leases may be close to lapsing
  }
  lastHeard = now;
  switch (message.type) {
    case "start":
      void start(message);
      break;
    case "hold":
    case "drop":
      if (extender) apply(extender, message);
      else early.push(message);
      break;
    case "drain":
      if (readMailbox()) scope.postMessage({ type: "drained" });
      else drainAsked = true;
      break;
    case "stop":
      void stop();
      break;
    case "alive":
      readMailbox();
      break;
  }
};

async function start(message: Extract<ToSupervisor, { type: "start" }>): Promise<void> {
  mailbox = new LeaseMailbox(message.mailbox);
  try {
    const module = await import(message.moduleUrl) as { openLeaseExtender: OpenLeaseExtender };
    extender = await module.openLeaseExtender(message.config);
  } catch (error) {
    scope.postMessage({
      type: "start-failed",
      message: (error as Error)?.message ?? String(error),
    });
    scope.close();
    return;
  }
  timing = message;
  logFormat = message.logFormat;
  for (const queued of early) apply(extender, queued);
  early = [];
  readMailbox();
  if (drainAsked) {
    drainAsked = false;
    scope.postMessage({ type: "drained" });
  }
  timer = setInterval(tick, message.renewMs);
  scope.postMessage({ type: "ready", startMs: Math.round(performance.now() - startedAt) });
}

/** Applies the mailbox's records; false before the connection is open (they wait there). */
function readMailbox(): boolean {
  const target = extender;
  if (!target || !mailbox) return false;
  mailbox.drain((kind, key, body) => {
    if (kind === HOLD) target.add(key, decodeIdentity(body));
    else target.remove(key);
  });
  return true;
}

function apply(target: LeaseExtender, message: ToSupervisor): void {
  if (message.type === "hold") {
    for (const key of message.drops ?? []) target.remove(key);
    for (const [key, identity] of message.entries) target.add(key, identity);
  } else if (message.type === "drop") {
    for (const key of message.keys) target.remove(key);
  }
}

function tick(): void {
  if (!timing || stopping) return;
  const silentMs = performance.now() - lastHeard;
  if (silentMs >= timing.livenessMs) {
    if (!paused) {
      paused = true;
      const held = extender?.size ?? 0;
      scope.postMessage({ type: "paused", silentMs: Math.round(silentMs), held });
      // Written now, from this thread: the main thread's logger cannot run while it is stuck.
      console.error(stderrLine(
        "WARN",
        `kqueue: the daemon's main thread has not answered for ${(silentMs / 1000).toFixed(1)} s ` +
          `(--liveness-limit=${timing.livenessMs / 1000}): lease extension paused for ${held} ` +
          `job(s), so other workers can take them once their leases lapse`,
        logFormat,
      ));
    }
    return;
  }
  extendRound();
}

/** One extension of everything held; skipped while the previous one is still running. */
function extendRound(): void {
  readMailbox();
  if (!extender || !timing || round || stopping || extender.size === 0) return;
  round = extender.extendAll(timing.leaseSeconds).then(
    (updates) => {
      if (updates.length > 0) scope.postMessage({ type: "extended", updates });
    },
    (error) =>
      scope.postMessage({
        type: "store-error",
        message: (error as Error)?.message ?? String(error),
      }),
  ).finally(() => {
    round = undefined;
  });
}

async function stop(): Promise<void> {
  stopping = true;
  clearInterval(timer);
  await round;
  try {
    await extender?.close();
  } finally {
    scope.postMessage({ type: "stopped" });
    scope.close();
  }
}
