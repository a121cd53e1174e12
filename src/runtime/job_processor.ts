/**
 * One reserved job through the pipeline: decode → pick the registered class →
 * check limits → execute (inline or isolated) → one retry decision → apply it
 * to storage → `failed()` at most once. Every path ends in ack, release, fail
 * or requeue: no job is dropped.
 */
import { unixSeconds } from "../clock.ts";
import { ChildCrashedError, PayloadError } from "../errors.ts";
import type { JobRef } from "../events.ts";
import type { AttemptOutcome } from "../executor/outcome.ts";
import { runInline } from "../executor/inline_executor.ts";
import { hydrateJob } from "../jobs/hydrate.ts";
import type { KQueueJob } from "../jobs/job.ts";
import type { RegisteredJob } from "../jobs/registry.ts";
import {
  checkBeforeRun,
  decide,
  isExceptionOutcome,
  type RetryDecision,
} from "../outcome/retry_policy.ts";
import {
  CALL_QUEUED_HANDLER,
  type ParsedPayload,
  parsePayload,
} from "../payload/laravel_payload.ts";
import { printable } from "../payload/untrusted_text.ts";
import { contextInfo, isolatedOptions, isolatedRequest } from "./attempt_requests.ts";
import {
  callFailedHook,
  failWithoutRunning,
  leaveForAnotherWorker,
  recordFailure,
  reservationLost,
  unknownJobError,
} from "./job_failure.ts";
import { type AttemptLimits, resolveLimits } from "./limits.ts";
import type { ProcessorDeps, Ticket } from "./processor_deps.ts";
import { settleWithRetry } from "./settle_retry.ts";

export async function processJob(ticket: Ticket, deps: ProcessorDeps): Promise<void> {
  const { reserved } = ticket;
  if (reserved.invalid !== undefined) return await failInvalid(ticket, deps, reserved.invalid);
  let payload: ParsedPayload;
  try {
    payload = parsePayload(reserved.rawPayload);
  } catch (error) {
    ticket.ref = refOf(ticket, deps, undefined, "(unreadable payload)");
    return await failWithoutRunning(ticket, deps, error as Error, undefined);
  }
  const entry = findJob(payload, deps);
  ticket.ref = refOf(
    ticket,
    deps,
    payload,
    // A registered name is trusted; a name the payload made up goes to logs escaped.
    entry?.name ?? printable(payload.commandName ?? payload.displayName ?? payload.job),
  );
  if (!entry) {
    if (deps.options.unknownJobs === "leave") return await leaveForAnotherWorker(ticket, deps);
    return await failWithoutRunning(ticket, deps, unknownJobError(payload, deps), payload);
  }

  const limits = resolveLimits(payload, entry.config, deps.options);
  const tooLate = checkBeforeRun(limits, reserved.attempts, unixSeconds(deps.clock), entry.name);
  if (tooLate) return await failWithoutRunning(ticket, deps, tooLate, payload, entry);

  let started = deps.clock();
  // An isolated job starts when it has its slot: a backlog's wait is not its run time.
  const announceStart = () => {
    started = deps.clock();
    deps.events.emit("job:started", { job: ticket.ref!, isolated: entry.config.isolated });
  };
  let instance: KQueueJob | undefined;
  let outcome: AttemptOutcome;
  if (entry.config.isolated) {
    outcome = await runIsolatedAttempt(ticket, deps, entry, payload, limits, announceStart);
  } else {
    announceStart();
    try {
      instance = hydrateJob(entry.Class, payload.command, entry.name);
    } catch (error) {
      return await failWithoutRunning(ticket, deps, error as Error, payload);
    }
    outcome = await runInlineAttempt(ticket, deps, instance, entry, limits);
  }
  if (ticket.abandoned) return; // a forced shutdown already put the job back
  ticket.settling = true;

  const exceptionCount = await countException(outcome, payload, limits, deps);
  const decision = decide({
    limits,
    attempt: reserved.attempts,
    outcome,
    nowSeconds: unixSeconds(deps.clock),
    ...(exceptionCount !== undefined ? { exceptionCount } : {}),
  });
  await applyDecision(ticket, deps, decision, outcome, started, { payload, entry, instance });
}

async function runInlineAttempt(
  ticket: Ticket,
  deps: ProcessorDeps,
  instance: KQueueJob,
  entry: RegisteredJob,
  limits: AttemptLimits,
): Promise<AttemptOutcome> {
  const ref = ticket.ref!;
  deps.inline.started(ticket, ref);
  try {
    return await runInline(instance, {
      info: contextInfo(ref),
      jobName: entry.name,
      timeoutMs: limits.timeout * 1000,
      deadlines: deps.inlineDeadlines,
      onSynchronousPart: (ms) =>
        deps.inline.ranSynchronously(ticket, ms, deps.options.lagThresholdMs),
      onTimeout: () => {
        ticket.timedOut = true;
        deps.events.emit("job:timeout", { job: ref, timeoutSeconds: limits.timeout });
      },
    });
  } finally {
    deps.inline.finished(ticket);
  }
}

async function runIsolatedAttempt(
  ticket: Ticket,
  deps: ProcessorDeps,
  entry: RegisteredJob,
  payload: ParsedPayload,
  limits: AttemptLimits,
  onSlot: () => void,
): Promise<AttemptOutcome> {
  await deps.isolatedSlots.acquire();
  try {
    if (ticket.abandoned) return { kind: "success" }; // requeued by a forced shutdown while waiting
    onSlot();
    return await deps.runIsolated(
      isolatedRequest(ticket.ref!, entry, payload, limits.timeout, "handle"),
      isolatedOptions(ticket.ref!, entry, deps),
    );
  } catch (error) {
    // The executor refused the request (say, a bad memoryLimit): this attempt crashed; the job is not lost.
    const message = `${entry.name} could not be started: ${(error as Error).message}`;
    return { kind: "crashed", error: new ChildCrashedError(message) };
  } finally {
    deps.isolatedSlots.release();
  }
}

async function applyDecision(
  ticket: Ticket,
  deps: ProcessorDeps,
  decision: RetryDecision,
  outcome: AttemptOutcome,
  started: number,
  job: { payload: ParsedPayload; entry: RegisteredJob; instance: KQueueJob | undefined },
): Promise<void> {
  const ref = ticket.ref!;
  const durationMs = deps.clock() - started;
  if (decision.action === "ack") {
    // Not awaited: acks are batched with the next reservation; the slot frees now, the
    // lease is kept until the ack is written (see Ticket.acking).
    ticket.acking = settleWithRetry(deps, "ack", () => deps.driver.ack(ticket.reserved)).then(
      (deleted) => deleted === false && reservationLost(deps, ref, "ack"),
      (error) => deps.events.emit("store:error", { operation: "ack", error, givenUp: true }),
    );
    deps.events.emit("job:done", { job: ref, durationMs });
    return;
  }
  if (decision.action === "release") {
    const released = await settleWithRetry(
      deps,
      "release",
      () => deps.driver.release(ticket.reserved, decision.delaySeconds),
    );
    if (released === false) {
      return reservationLost(deps, ref, "release");
    }
    const error = "error" in outcome ? outcome.error : undefined;
    deps.events.emit("job:released", {
      job: ref,
      delaySeconds: decision.delaySeconds,
      durationMs,
      ...(error ? { error } : {}),
    });
    return;
  }
  if (decision.exhaustedExceptions && job.payload.uuid) {
    await deps.exceptions.reset(job.payload.uuid);
  }
  // failed() only once the failed_jobs row is ours: a job taken over is the other worker's to fail.
  if (await recordFailure(ticket, deps, decision.error, job.payload, durationMs)) {
    await callFailedHook(ticket, deps, decision.error, job.payload, job.entry, job.instance);
  }
}

async function countException(
  outcome: AttemptOutcome,
  payload: ParsedPayload,
  limits: AttemptLimits,
  deps: ProcessorDeps,
): Promise<number | undefined> {
  if (limits.maxExceptions === undefined || !payload.uuid || !isExceptionOutcome(outcome)) {
    return undefined;
  }
  return await deps.exceptions.increment(payload.uuid);
}

/** A job its store marked unusable (`ReservedJob.invalid`): failed with the reason, never run. */
async function failInvalid(ticket: Ticket, deps: ProcessorDeps, reason: string): Promise<void> {
  let payload: ParsedPayload | undefined;
  try {
    payload = parsePayload(ticket.reserved.rawPayload);
  } catch {
    payload = undefined;
  }
  const name = payload?.commandName ?? payload?.displayName ?? "(invalid payload)";
  ticket.ref = refOf(ticket, deps, payload, name);
  await failWithoutRunning(ticket, deps, new PayloadError(reason), payload);
}

function findJob(payload: ParsedPayload, deps: ProcessorDeps): RegisteredJob | undefined {
  if (payload.job !== CALL_QUEUED_HANDLER) return undefined;
  return (payload.commandName ? deps.registry.get(payload.commandName) : undefined) ??
    (payload.displayName ? deps.registry.get(payload.displayName) : undefined);
}

function refOf(
  ticket: Ticket,
  deps: ProcessorDeps,
  payload: ParsedPayload | undefined,
  name: string,
): JobRef {
  const { reserved } = ticket;
  return {
    id: reserved.id,
    uuid: payload?.uuid ?? "",
    name,
    queue: reserved.queue,
    connection: deps.driver.connectionName,
    attempt: reserved.attempts,
  };
}
