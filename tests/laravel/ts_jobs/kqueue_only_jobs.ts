/** A KQueue job with no PHP class behind it (no `static laravel`): Laravel's tools must still cope. */
import { type JobContext, KQueueJob } from "../../../src/mod.ts";
import { readRuns, recordRun } from "./_record.ts";

/** Fails on its first run (per uuid), succeeds after a queue:retry. */
export class NightlyReport extends KQueueJob {
  day = "";

  override async handle(context: JobContext): Promise<void> {
    await recordRun(this, context, ["day"]);
    const runs = (await readRuns()).filter((run) => run.uuid === context.uuid);
    if (runs.length === 1) throw new Error(`first run for ${this.day} fails`);
  }
}
