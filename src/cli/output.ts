/**
 * What the daemon prints: one Laravel-style line per job event on stdout, or
 * with --json one JSON object per event. Warnings go to the log (stderr).
 */
import { printable } from "../payload/untrusted_text.ts";
import type { Logger } from "../log.ts";
import type { EventBus, EventName, JobRef, KQueueEvents, SettleOperation } from "../events.ts";

const JOB_EVENTS: readonly EventName[] = [
  "job:started",
  "job:done",
  "job:released",
  "job:failed",
  "job:timeout",
  "job:requeued",
  "job:reservation-lost",
  "job:output",
  "job:failed-hook-error",
];
const WORKER_EVENTS: readonly EventName[] = [
  "worker:uncaught",
  "worker:started",
  "worker:stopping",
  "worker:stopped",
  "worker:lag",
  "lease:paused",
  "store:error",
  "store:recovered",
  "queue:set-aside",
  "queue:restored",
];
/** An isolated job class's children: every start and exit (one pair per job by default). */
const CHILD_EVENTS: readonly EventName[] = ["child:started", "child:exited", "child:start-failed"];

/** What a settle that found the job another worker's leaves behind, by operation. */
const LOST_RESERVATION: Record<SettleOperation, string> = {
  ack: "it succeeded here, but that worker holds it now and may run it again",
  release: "its retry was not scheduled; that worker holds it now",
  requeue: "it was not put back; that worker holds it now",
  fail: "no failed_jobs row, and failed() was not called; that worker holds it now",
};

export function printJsonEvents(
  events: EventBus,
  write: (line: string) => void = (l) => console.log(l),
): void {
  for (const name of [...JOB_EVENTS, ...WORKER_EVENTS, ...CHILD_EVENTS]) {
    events.on(
      name,
      (event) =>
        write(JSON.stringify({ event: name, time: new Date().toISOString(), ...toJson(event) })),
    );
  }
}

/**
 * During an outage every job in flight retries its own settle, so one storage
 * error comes once per job per retry: the human log shows it once per this
 * window, with how many like it it held back. (`--json` keeps every event.)
 */
export const REPEAT_WINDOW_MS = 10_000;

export function printHumanEvents(
  events: EventBus,
  log: Logger,
  write: (line: string) => void = (l) => console.log(l),
  now: () => number = () => performance.now(),
): void {
  const line = (job: JobRef, label: string, rest = "") =>
    write(`[${timestamp()}][${job.id}] ${label.padEnd(11)} ${job.name}${rest ? `  ${rest}` : ""}`);
  events.on(
    "job:started",
    ({ job }) => line(job, "Processing:", job.attempt > 1 ? `(attempt ${job.attempt})` : ""),
  );
  events.on("job:done", ({ job, durationMs }) => line(job, "Processed:", ms(durationMs)));
  events.on(
    "job:released",
    ({ job, delaySeconds, error, durationMs }) =>
      line(
        job,
        "Released:",
        `${ms(durationMs)}; retry in ${delaySeconds} s${error ? ` after ${oneLine(error)}` : ""}`,
      ),
  );
  events.on("job:failed", ({ job, error }) => line(job, "Failed:", oneLine(error)));
  events.on(
    "job:timeout",
    ({ job, timeoutSeconds }) =>
      line(
        job,
        "Timed out:",
        `after ${timeoutSeconds} s; its signal was aborted, waiting for it to return`,
      ),
  );
  events.on("job:requeued", ({ job, reason }) => line(job, "Requeued:", reason));
  // A job may print hostile data: it must not forge log lines or send terminal escapes.
  events.on(
    "job:output",
    ({ job, stream, line: text }) => line(job, `${stream}:`, printable(text, 4000)),
  );
  events.on("job:reservation-lost", ({ job, operation }) =>
    log.warn(
      `${job.name} [${job.id}]: its ${operation} found the job taken over by another worker ` +
        `(its reservation had lapsed), so nothing was written: ${LOST_RESERVATION[operation]}`,
    ));
  events.on(
    "job:failed-hook-error",
    ({ job, error }) => log.error(`${job.name} [${job.id}]: failed() threw: ${oneLine(error)}`),
  );
  events.on(
    "worker:started",
    ({ connection, queues, concurrency, isolatedConcurrency, lease }) =>
      log.info(
        `Processing jobs from ${connection} [${
          queues.join(",")
        }], concurrency ${concurrency}, isolated ${isolatedConcurrency}; ${
          lease
            ? `leases ${lease.seconds} s, renewed every ${lease.renewSeconds} s ` +
              `(liveness limit ${lease.livenessLimitSeconds} s)`
            : "lease extension off: reservations last retry_after"
        }`,
      ),
  );
  events.on(
    "worker:stopping",
    ({ reason, inFlight, detail }) => {
      const why = detail ? `${reason}: ${detail}` : reason;
      const waiting = inFlight > 0 ? `: waiting for ${inFlight} job(s) in flight` : "";
      log.info(`Stopping (${why})${waiting}`);
    },
  );
  events.on("worker:lag", ({ lagMs, inlineJobs }) => log.warn(lagMessage(lagMs, inlineJobs)));
  events.on("lease:paused", ({ silentMs, livenessLimitMs }) =>
    log.warn(
      `The main thread did not answer for ${(silentMs / 1000).toFixed(1)} s (past the ` +
        `${
          livenessLimitMs / 1000
        } s liveness limit), so lease extension paused meanwhile: jobs in ` +
        `flight may have been taken over by another worker; a CPU-heavy job should set isolated = true`,
    ));
  events.on(
    "worker:stopped",
    ({ reason, processed, maxLagMs }) =>
      log.info(
        `Stopped (${reason}) after ${processed} job(s); longest event-loop stall ${maxLagMs} ms`,
      ),
  );
  events.on("child:start-failed", ({ job, error, retryInMs }) =>
    log.warn(
      `${job}: its child failed to start (${oneLine(error)}); no new child for ${
        (retryInMs / 1000).toFixed(0)
      } s, its attempts fail with this error meanwhile`,
    ));
  events.on("worker:uncaught", ({ error, inlineJobs }) => {
    const running = inlineJobs.map((j) => `${j.name} [${j.id}]`).join(", ") || "none";
    log.error(
      `Uncaught ${
        oneLine(error)
      } (a job's timer or unawaited promise; inline jobs running: ${running}); the daemon keeps running`,
    );
  });
  const repeats = new RepeatCounter(now);
  events.on("store:error", ({ operation, error, refused, givenUp }) => {
    const message = `Storage error during ${operation}: ${oneLine(error)}; ${
      givenUp
        ? "not written: the job comes back when its reservation lapses"
        : refused
        ? "retrying (the store answered, so the daemon keeps running; repeats are not logged)"
        : "retrying"
    }`;
    const held = repeats.seen(message);
    if (held !== undefined) log.error(message + held);
  });
  events.on("store:recovered", ({ operation, downMs }) => {
    log.info(`Storage works again for ${operation} after ${(downMs / 1000).toFixed(1)} s`);
    for (const [message, count] of repeats.takeHeld()) {
      log.error(`${message} (${count} more like it, not logged, before it recovered)`);
    }
  });
  events.on("queue:set-aside", ({ queue, problem, recheckSeconds }) =>
    log.error(
      `Queue ${queue} is set aside, its jobs left where they are: ${problem}; ` +
        `the other queues are served meanwhile, and ${queue} is tried again every ${recheckSeconds} s`,
    ));
  events.on(
    "queue:restored",
    ({ queue, setAsideMs }) =>
      log.info(
        `Queue ${queue} is served again (set aside for ${(setAsideMs / 1000).toFixed(1)} s)`,
      ),
  );
}

/** Identical lines within REPEAT_WINDOW_MS: the first is shown, the rest counted. */
class RepeatCounter {
  readonly #lines = new Map<string, { at: number; held: number }>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Undefined: hold this repeat back; else log the line with this suffix (what was held back). */
  seen(line: string): string | undefined {
    const now = this.#now();
    const last = this.#lines.get(line);
    if (last !== undefined && now - last.at < REPEAT_WINDOW_MS) {
      last.held++;
      return undefined;
    }
    this.#lines.delete(line);
    this.#lines.set(line, { at: now, held: 0 });
    // Bounded: the oldest line goes first (error texts can be many and varied).
    if (this.#lines.size > 100) this.#lines.delete(this.#lines.keys().next().value!);
    if (last === undefined || last.held === 0) return "";
    return ` (${last.held} more like it in the last ${((now - last.at) / 1000).toFixed(0)} s)`;
  }

  /** The held-back counts so far, cleared. */
  takeHeld(): Array<[string, number]> {
    const held: Array<[string, number]> = [];
    for (const [line, entry] of this.#lines) if (entry.held > 0) held.push([line, entry.held]);
    this.#lines.clear();
    return held;
  }
}

export function lagMessage(lagMs: number, inlineJobs: readonly JobRef[]): string {
  const names = [...new Set(inlineJobs.map((j) => `${j.name} [${j.id}]`))];
  const who = names.length === 0
    ? "no inline job was running"
    : `inline job(s) running: ${names.join(", ")}`;
  return `Event loop blocked for ${lagMs} ms (${who}); a CPU-heavy job should set isolated = true`;
}

function toJson(event: KQueueEvents[EventName]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message } : value;
  }
  return out;
}

export function oneLine(error: Error): string {
  return `${error.name}: ${error.message}`.split("\n")[0]!;
}

function ms(durationMs: number): string {
  return durationMs < 1000 ? `${durationMs.toFixed(1)} ms` : `${(durationMs / 1000).toFixed(2)} s`;
}

function timestamp(): string {
  return new Date().toISOString().slice(0, 19).replace("T", " ");
}
