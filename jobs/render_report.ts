import { KQueueJob } from "../src/mod.ts";

/** Never finishes: the child is killed at its 1-second timeout, and the job fails (failOnTimeout). */
export class RenderReport extends KQueueJob {
  report = "yearly";

  override isolated = true;
  override timeout = 1;
  override failOnTimeout = true;

  override handle(): void {
    let x = 0;
    for (;;) x = (x + 1) % 1_000_003; // a runaway loop: only a kill stops it
  }
}
