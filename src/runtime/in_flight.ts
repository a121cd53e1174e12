/**
 * The jobs a daemon has in hand: each reserved job starts through the
 * processor and keeps its slot until it settles, and its lease until its ack
 * is written. A forced stop puts back, untouched, every job still running
 * (those already writing their outcome finish that write).
 */
import type { ReservedJob } from "../drivers/driver.ts";
import { putBackAfterForcedStop } from "./job_failure.ts";
import { processJob } from "./job_processor.ts";
import type { LeaseKeeper } from "./lease_keeper.ts";
import type { ProcessorDeps, Ticket } from "./processor_deps.ts";
import type { Slots } from "./slots.ts";
import { DrainWaiter } from "./waiting.ts";

export interface InFlightDeps {
  readonly processor: ProcessorDeps;
  readonly slots: Slots;
  /** The lease keeper, once started (undefined: lease extension off). */
  readonly leases: () => LeaseKeeper | undefined;
  /** After each job is done with (any outcome), with the count so far. */
  readonly onFinished: (processed: number) => void;
}

export class InFlightJobs {
  readonly #d: InFlightDeps;
  readonly #tickets = new Set<Ticket>();
  readonly #drain = new DrainWaiter();
  #started = 0;
  #processed = 0;
  #peak = 0;

  constructor(deps: InFlightDeps) {
    this.#d = deps;
  }

  get size(): number {
    return this.#tickets.size;
  }

  /** Jobs started in this run. */
  get started(): number {
    return this.#started;
  }

  /** Jobs finished (any outcome) in this run; not those a forced stop put back. */
  get processed(): number {
    return this.#processed;
  }

  /** The most jobs in flight at once. */
  get peak(): number {
    return this.#peak;
  }

  start(reserved: ReservedJob): void {
    const { processor, slots } = this.#d;
    const ticket: Ticket = { reserved, abandoned: false, settling: false };
    this.#tickets.add(ticket);
    slots.take();
    this.#started++;
    this.#peak = Math.max(this.#peak, slots.inFlight);
    processJob(ticket, processor)
      .catch((error) => {
        // A storage write failed: the job stays reserved and comes back after retry_after.
        processor.events.emit("store:error", {
          operation: "settle",
          error: error as Error,
          givenUp: true,
        });
      })
      .finally(() => {
        const leases = this.#d.leases();
        if (ticket.acking) void ticket.acking.finally(() => leases?.drop(reserved));
        else leases?.drop(reserved);
        this.#tickets.delete(ticket);
        slots.give();
        if (this.#tickets.size === 0) this.#drain.notify();
        // A job a forced stop put back was not processed (it runs again elsewhere).
        if (ticket.abandoned) return;
        this.#processed++;
        this.#d.onFinished(this.#processed);
      });
  }

  /** Resolves once no job is in hand. */
  untilEmpty(): Promise<void> {
    return this.#drain.until(() => this.#tickets.size === 0);
  }

  /**
   * The forced stop: every job still running is marked abandoned (its
   * processor will not touch storage), `kill` ends them (children), then each
   * goes back untouched (its attempt not counted).
   */
  putBackRunning(kill: () => void): void {
    const processor = this.#d.processor;
    const running = [...this.#tickets].filter((t) => !t.abandoned && !t.settling);
    for (const ticket of running) ticket.abandoned = true;
    kill();
    for (const ticket of running) {
      putBackAfterForcedStop(ticket, processor)
        .catch((error) =>
          processor.events.emit("store:error", { operation: "requeue", error, givenUp: true })
        )
        .finally(() => {
          this.#d.leases()?.drop(ticket.reserved);
          this.#tickets.delete(ticket);
          this.#drain.notify();
        });
    }
  }
}
