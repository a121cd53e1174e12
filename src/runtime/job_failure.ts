/**
 * The ways a job ends without a success: failed for good (the failed_jobs
 * row, then `failed()` at most once), failed before it ran (bad payload,
 * unknown class, out of attempts), left for another kind of worker, or put
 * back by a forced shutdown; and what is said when a settle finds the job
 * taken over by another worker.
 */
import { formatException, PayloadError, serializeError } from "../errors.ts";
import { runFailedHookInline } from "../executor/inline_executor.ts";
import type { JobRef, SettleOperation } from "../events.ts";
import type { AttemptOutcome } from "../executor/outcome.ts";
import { hydrateJob } from "../jobs/hydrate.ts";
import type { KQueueJob } from "../jobs/job.ts";
import type { RegisteredJob } from "../jobs/registry.ts";
import { CALL_QUEUED_HANDLER, type ParsedPayload } from "../payload/laravel_payload.ts";
import { printable } from "../payload/untrusted_text.ts";
import { isolatedOptions, isolatedRequest } from "./attempt_requests.ts";
import { settleWithRetry } from "./settle_retry.ts";
import type { ProcessorDeps, Ticket } from "./processor_deps.ts";

/** `--unknown-jobs=leave`: back untouched (attempt not counted), due again after a delay. */
export async function leaveForAnotherWorker(ticket: Ticket, deps: ProcessorDeps): Promise<void> {
  ticket.settling = true;
  const delay = deps.options.unknownJobDelay;
  if (await deps.driver.requeue(ticket.reserved, delay) === false) {
    return reservationLost(deps, ticket.ref!, "requeue");
  }
  deps.events.emit("job:requeued", {
    job: ticket.ref!,
    reason: `no KQueue job is registered as ${
      ticket.ref!.name
    }: left for another worker, due again in ${delay} s`,
  });
}

/** Fails a job that never ran (bad payload, unknown class, out of attempts). */
export async function failWithoutRunning(
  ticket: Ticket,
  deps: ProcessorDeps,
  error: Error,
  payload: ParsedPayload | undefined,
  entry?: RegisteredJob,
): Promise<void> {
  ticket.settling = true;
  const recorded = await recordFailure(ticket, deps, error, payload, 0);
  if (recorded && entry && payload) {
    await callFailedHook(ticket, deps, error, payload, entry, undefined);
  }
}

/**
 * Kills are done, now the job goes back untouched (attempt not counted); a
 * job already past its timeout had its attempt, so it goes back with the
 * attempt counted, and one that hangs every time still runs out of tries (as in Laravel).
 */
export async function putBackAfterForcedStop(ticket: Ticket, deps: ProcessorDeps): Promise<void> {
  const operation = ticket.timedOut ? "release" : "requeue";
  const putBack = ticket.timedOut
    ? await deps.driver.release(ticket.reserved, 0)
    : await deps.driver.requeue(ticket.reserved);
  if (putBack === false) return reservationLost(deps, ticket.ref!, operation);
  const reason = ticket.timedOut
    ? "forced shutdown after its timeout (attempt counted)"
    : "forced shutdown (attempt not counted)";
  deps.events.emit("job:requeued", { job: ticket.ref!, reason });
}

/** True when the `failed_jobs` row is written; false when another worker had taken the job over. */
export async function recordFailure(
  ticket: Ticket,
  deps: ProcessorDeps,
  error: Error,
  payload: ParsedPayload | undefined,
  durationMs: number,
): Promise<boolean> {
  const uuid = payload?.uuid ?? crypto.randomUUID(); // failed_jobs.uuid is NOT NULL UNIQUE
  const exception = formatException(error);
  const written = await settleWithRetry(
    deps,
    "fail",
    () => deps.driver.fail(ticket.reserved, { uuid, exception }),
  );
  if (written === false) {
    reservationLost(deps, ticket.ref!, "fail");
    return false;
  }
  deps.events.emit("job:failed", { job: ticket.ref!, error, durationMs });
  return true;
}

/**
 * A settle (`operation`) wrote nothing: another worker took the job over
 * after our reservation lapsed. Said once, the same way for every operation.
 */
export function reservationLost(
  deps: ProcessorDeps,
  job: JobRef,
  operation: SettleOperation,
): void {
  deps.events.emit("job:reservation-lost", { job, operation });
}

export async function callFailedHook(
  ticket: Ticket,
  deps: ProcessorDeps,
  error: Error,
  payload: ParsedPayload,
  entry: RegisteredJob,
  instance: KQueueJob | undefined,
): Promise<void> {
  if (typeof entry.Class.prototype.failed !== "function") return;
  let hookError: Error | undefined;
  if (entry.config.isolated) {
    hookError = await runIsolatedFailedHook(ticket, deps, error, payload, entry);
  } else {
    try {
      hookError = await runFailedHookInline(
        instance ?? hydrateJob(entry.Class, payload.command, entry.name),
        error,
      );
    } catch (hydrateError) {
      hookError = hydrateError as Error;
    }
  }
  if (hookError) deps.events.emit("job:failed-hook-error", { job: ticket.ref!, error: hookError });
}

/**
 * An isolated job's failed() runs in a child of its own, so it takes an
 * isolated slot as handle() does (`--isolated-concurrency` counts children
 * running job code). No deadlock: the attempt released its slot before the
 * retry decision, and a job failed before it ran never took one.
 */
async function runIsolatedFailedHook(
  ticket: Ticket,
  deps: ProcessorDeps,
  error: Error,
  payload: ParsedPayload,
  entry: RegisteredJob,
): Promise<Error | undefined> {
  const timeout = entry.config.timeout ?? deps.options.timeout;
  await deps.isolatedSlots.acquire();
  let outcome: AttemptOutcome;
  try {
    outcome = await deps.runIsolated(
      {
        ...isolatedRequest(ticket.ref!, entry, payload, timeout, "failed"),
        error: serializeError(error),
      },
      isolatedOptions(ticket.ref!, entry, deps),
    ).catch((thrown: Error) => ({ kind: "crashed", error: thrown }) as const);
  } finally {
    deps.isolatedSlots.release();
  }
  if (outcome.kind === "success") return undefined;
  return "error" in outcome ? outcome.error : new Error(outcome.kind);
}

export function unknownJobError(payload: ParsedPayload, deps: ProcessorDeps): PayloadError {
  const names = deps.registry.list().map((j) => j.name);
  const known = names.length === 0
    ? "none"
    : names.slice(0, 8).join(", ") + (names.length > 8 ? `, … ${names.length - 8} more` : "");
  if (payload.job !== CALL_QUEUED_HANDLER) {
    return new PayloadError(
      `Cannot run handler "${
        printable(payload.job)
      }": only ${CALL_QUEUED_HANDLER} payloads (class-based jobs) are supported`,
    );
  }
  const name = printable(payload.commandName ?? payload.displayName ?? "(no class name)");
  return new PayloadError(
    `No job named "${name}" is registered (registered: ${known}); add a KQueueJob class named ${name}, or with static laravel = "${name}", to the jobs folder`,
  );
}
