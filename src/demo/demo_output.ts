/** The demo's readable lines and its closing summary. */
import type { EventBus, FailedJobRecord } from "../mod.ts";

export interface DemoCounts {
  done: number;
  retried: number;
  failed: number;
}

export function printDemoEvents(events: EventBus): DemoCounts {
  const counts: DemoCounts = { done: 0, retried: 0, failed: 0 };
  const t0 = performance.now();
  const at = () => `${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s`;
  events.on("job:started", ({ job, isolated }) => {
    if (isolated) {
      console.log(`${at()}  ▶ ${job.name} [${job.id}] started in a sandboxed child process`);
    }
  });
  events.on("job:done", ({ job, durationMs }) => {
    counts.done++;
    console.log(
      `${at()}  ✓ ${job.name} [${job.id}] done in ${durationMs.toFixed(0)} ms${
        job.attempt > 1 ? ` (attempt ${job.attempt})` : ""
      }`,
    );
  });
  events.on("job:released", ({ job, delaySeconds, error }) => {
    counts.retried++;
    console.log(
      `${at()}  ↻ ${job.name} [${job.id}] attempt ${job.attempt} failed (${
        error?.message ?? "released"
      }); retry in ${delaySeconds} s`,
    );
  });
  events.on("job:failed", ({ job, error }) => {
    counts.failed++;
    console.log(
      `${at()}  ✗ ${job.name} [${job.id}] failed for good: ${error.name}: ${
        error.message.split("\n")[0]
      }`,
    );
  });
  events.on("job:output", ({ job, line }) => console.log(`${at()}    ${job.name} says: ${line}`));
  events.on(
    "worker:lag",
    ({ lagMs }) => console.log(`${at()}  ! event loop blocked for ${lagMs} ms`),
  );
  return counts;
}

export function summary(
  counts: DemoCounts,
  peak: number,
  seconds: number,
  failed: FailedJobRecord[],
): string {
  const lines = [
    "",
    `Summary: ${counts.done} done, ${counts.retried} retried, ${counts.failed} failed; peak concurrency ${peak}; ${
      seconds.toFixed(2)
    } s`,
    `failed_jobs now holds ${failed.length} row(s):`,
    ...failed.map((row) =>
      `  ${row.uuid}  ${JSON.parse(row.payload).displayName}  ${row.exception.split("\n")[0]}`
    ),
  ];
  return lines.join("\n");
}
