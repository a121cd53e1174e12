/**
 * What the KQueue side of the harness records: one JSON line per run in
 * RECORD_FILE, the same shape as the PHP side's App\Harness\Recorder (side "kqueue").
 */
import type { JobContext, KQueueJob } from "../../../src/mod.ts";

export interface Run {
  side: "php" | "kqueue";
  job: string;
  attempt: number;
  jobId: string | null;
  uuid: string | null;
  queue: string | null;
  connection: string | null;
  props: Record<string, unknown>;
  /** Unix milliseconds when the run started. */
  at: number;
}

function recordFile(): string {
  const file = Deno.env.get("RECORD_FILE");
  if (!file) throw new Error("Set RECORD_FILE: the jobs record their runs there");
  return file;
}

/** Appends this run, with the values of `fields` as the job received them. */
export async function recordRun(
  job: KQueueJob,
  context: JobContext,
  fields: readonly string[],
): Promise<void> {
  const values = job as unknown as Record<string, unknown>;
  const run: Run = {
    side: "kqueue",
    job: (job.constructor as { laravel?: string }).laravel ?? job.constructor.name,
    attempt: context.attempt,
    jobId: context.jobId,
    uuid: context.uuid,
    queue: context.queue,
    connection: context.connection,
    props: Object.fromEntries(fields.map((field) => [field, values[field]])),
    at: Date.now(),
  };
  await Deno.writeTextFile(recordFile(), `${JSON.stringify(run)}\n`, { append: true });
}

/** Every run recorded so far, on both sides, in order. */
export async function readRuns(file = recordFile()): Promise<Run[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}
