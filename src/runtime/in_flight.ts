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

/** How long a stopping daemon waits for acks the store still refuses. Milliseconds. */
const ACK_GRACE_MS = 5_000;
/** How long given-up acks get to end their retries. Milliseconds. */
const GIVE_UP_MS = 1_000;

/** True when every promise settled within `ms`. */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(resolve, ms, false));
  const settled = await Promise.race([Promise.allSettled(promises).then(() => true), late]);
  clearTimeout(timer);
  return settled;
}

export class InFlightJobs {
  readonly #d: InFlightDeps;
  readonly #tickets = new Set<Ticket>();
  readonly #drain = new DrainWaiter();
  /** Acks of finished jobs not written yet (the slot is free, the lease still held). */
  readonly #acks = new Set<Promise<unknown>>();
  #acksGivenUp = false;
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
        const acking = ticket.acking;
        if (acking) {
          const tracked = acking.finally(() => {
            this.#acks.delete(tracked);
            leases?.drop(reserved);
          });
          this.#acks.add(tracked);
        } else leases?.drop(reserved);
        this.#tickets.delete(ticket);
        slots.give();
        if (this.#tickets.size === 0) this.#drain.notify();
        // A job a forced stop put back was not processed (it runs again elsewhere).
        if (ticket.abandoned) return;
        this.#processed++;
        this.#d.onFinished(this.#processed);
      });
  }

  /**
   * At the end of a run: a job that succeeded keeps its lease until its ack
   * is written, so this waits up to ACK_GRACE_MS for the acks still being
   * written (retried while the store refuses them; not at all when the store
   * was lost: it has failed for --store-timeout already). Then `giveUp` makes
   * their retries stop, each reported as given up (the job runs again once
   * its lease lapses); one whose store call never returns is reported here.
   */
  async acksWritten(storeLost: boolean, giveUp: () => void): Promise<void> {
    if (this.#acks.size === 0 || this.#acksGivenUp) return;
    if (await settledWithin([...this.#acks], storeLost ? 0 : ACK_GRACE_MS)) return;
    giveUp();
    if (await settledWithin([...this.#acks], GIVE_UP_MS)) return;
    this.#acksGivenUp = true;
    for (let n = this.#acks.size; n > 0; n--) {
      this.#d.processor.events.emit("store:error", {
        operation: "ack",
        error: new Error("the daemon stopped before the store took its ack"),
        givenUp: true,
      });
    }
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
