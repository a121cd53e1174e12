/**
 * The bench's job classes (discovered from this folder by the scenario
 * processes). Kept trivial on purpose: the bench measures the queue runtime,
 * not the jobs.
 */
import { KQueueJob } from "../../src/mod.ts";

/** Does nothing, inline on the daemon's event loop. */
export class BenchNoop extends KQueueJob {
  override handle(): void {}
}

/** Awaits a 50 ms timer: an I/O-bound job (a short HTTP call, say). */
export class BenchWait50ms extends KQueueJob {
  override async handle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Does nothing, in its own permission-narrowed child process. */
export class BenchIsolatedNoop extends KQueueJob {
  override isolated = true;
  override handle(): void {}
}
