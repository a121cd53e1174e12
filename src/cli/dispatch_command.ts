/** `kqueue dispatch <JobName> ['<json fields>'] [--queue=q] [--delay=s] [--count=N]`. */
import { openConnection } from "../connection.ts";
import { prepareDispatch } from "../dispatch.ts";
import { checkDueTime } from "../drivers/due_time.ts";
import { discoverJobs } from "../jobs/discover.ts";
import { numberFlag, parseFlags, POSITIVE_INTEGER, SECONDS } from "./args.ts";
import { CliError, openStoreError } from "./cli_error.ts";

const FLAGS = {
  queue: { type: "string" },
  delay: { type: "string" },
  count: { type: "string" },
  connection: { type: "string" },
  jobs: { type: "string" },
  database: { type: "string" },
} as const;

/** Jobs built and pushed per store call: memory stays flat whatever `--count` is. */
const BATCH = 1_000;
/** `--count` at most: a million jobs is minutes of pushing; more is surely a typo. */
const MAX_COUNT = 1_000_000;

export async function dispatchCommand(
  args: string[],
  print: (line: string) => void,
): Promise<void> {
  const { values, positionals } = parseFlags("dispatch", args, FLAGS, 2);
  const [name, json] = positionals;
  if (!name) {
    throw new CliError(
      'Missing the job name: deno task kqueue dispatch <JobName> [\'{"field":"value"}\']',
    );
  }
  const data = parseData(json);
  const jobsDir = String(values.jobs ?? "jobs");
  const registry = await discoverJobs(jobsDir).catch((error) => {
    throw new CliError((error as Error).message);
  });
  const entry = registry.get(name);
  if (!entry) {
    const known = registry.list().map((j) => j.name).join(", ") || "none";
    throw new CliError(`Unknown job "${name}" in ${jobsDir} (known: ${known})`);
  }
  const count = numberFlag(values, "count", POSITIVE_INTEGER) ?? 1;
  if (count > MAX_COUNT) {
    throw new CliError(
      `--count=${values.count} is too many for one dispatch: use at most ${MAX_COUNT} ` +
        `(run dispatch again for more)`,
    );
  }
  const delay = numberFlag(values, "delay", SECONDS);
  if (delay !== undefined) {
    try {
      checkDueTime(`--delay=${values.delay}`, Date.now(), delay);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
  const options = {
    ...(values.queue ? { queue: String(values.queue) } : {}),
    ...(delay !== undefined ? { delay } : {}),
    ...(values.connection ? { connection: String(values.connection) } : {}),
  };
  const prepare = (n: number) => {
    try {
      return Array.from({ length: n }, () => prepareDispatch(entry.Class, data, options));
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  };
  // Built and pushed a batch at a time, so memory stays flat whatever the count.
  let batch = prepare(Math.min(count, BATCH));
  const first = batch[0]!;
  const connection = await openConnection({
    ...(first.connection ? { name: first.connection } : {}),
    ...(values.database ? { databasePath: String(values.database) } : {}),
  }).catch((error) => {
    throw openStoreError(error);
  });
  try {
    const queue = first.queue ?? connection.defaultQueue;
    const where = `${connection.name}/${queue}${first.delay ? `, delay ${first.delay} s` : ""}`;
    let pushed = 0;
    let firstId: string | undefined;
    while (batch.length > 0) {
      const ids = await connection.driver.pushMany(queue, batch.map((p) => p.payload), {
        delay: first.delay,
      }).catch((error) => {
        const done = pushed > 0 ? ` (${pushed} of ${count} were dispatched before it)` : "";
        throw new Error(`${(error as Error).message}${done}`, { cause: error });
      });
      firstId ??= ids[0];
      pushed += ids.length;
      batch = prepare(Math.min(count - pushed, BATCH));
    }
    print(
      count === 1
        ? `Dispatched ${entry.name} [${firstId}] uuid ${first.uuid} to ${where}`
        : `Dispatched ${count} × ${entry.name} to ${where}`,
    );
  } finally {
    await connection.close();
  }
}

function parseData(json: string | undefined): Record<string, unknown> {
  if (json === undefined) return {};
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new CliError(
      `The job data is not valid JSON (${
        (error as Error).message
      }): pass an object like '{"to":"a@b.c"}'`,
    );
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new CliError(
      `The job data must be a JSON object like '{"to":"a@b.c"}', got ${JSON.stringify(data)}`,
    );
  }
  return data as Record<string, unknown>;
}
