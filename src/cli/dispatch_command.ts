/** `kqueue dispatch <JobName> ['<json fields>'] [--queue=q] [--delay=s] [--count=N]`. */
import { openConnection } from "../connection.ts";
import { prepareDispatch } from "../dispatch.ts";
import { discoverJobs } from "../jobs/discover.ts";
import { numberFlag, parseFlags, POSITIVE_INTEGER, SECONDS } from "./args.ts";
import { CliError } from "./cli_error.ts";

const FLAGS = {
  queue: { type: "string" },
  delay: { type: "string" },
  count: { type: "string" },
  connection: { type: "string" },
  jobs: { type: "string" },
  database: { type: "string" },
} as const;

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
  const delay = numberFlag(values, "delay", SECONDS);
  const options = {
    ...(values.queue ? { queue: String(values.queue) } : {}),
    ...(delay !== undefined ? { delay } : {}),
    ...(values.connection ? { connection: String(values.connection) } : {}),
  };
  let prepared;
  try {
    prepared = Array.from({ length: count }, () => prepareDispatch(entry.Class, data, options));
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const first = prepared[0]!;
  const connection = await openConnection({
    ...(first.connection ? { name: first.connection } : {}),
    ...(values.database ? { databasePath: String(values.database) } : {}),
  }).catch((error) => {
    throw new CliError((error as Error).message);
  });
  try {
    const queue = first.queue ?? connection.defaultQueue;
    const ids = await connection.driver.pushMany(queue, prepared.map((p) => p.payload), {
      delay: first.delay,
    });
    const where = `${connection.name}/${queue}${first.delay ? `, delay ${first.delay} s` : ""}`;
    print(
      count === 1
        ? `Dispatched ${entry.name} [${ids[0]}] uuid ${first.uuid} to ${where}`
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
