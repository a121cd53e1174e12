/**
 * `kqueue retry <uuid…|all>` and `kqueue forget <uuid>`: Laravel's
 * `queue:retry` / `queue:forget` on the same rows, for apps without PHP.
 * Retry does what Laravel's does: reset `attempts` where the payload has the
 * key (Redis payloads), refresh `retryUntil` from the job's class, push the
 * payload back on its connection and queue, then delete the failed row.
 */
import { openConnection, type QueueConnection } from "../connection.ts";
import { discoverJobs } from "../jobs/discover.ts";
import { readJobConfig } from "../jobs/job_config.ts";
import type { JobRegistry } from "../jobs/registry.ts";
import { parseFlags } from "./args.ts";
import { CliError, openStoreError } from "./cli_error.ts";

const FLAGS = {
  database: { type: "string" },
  connection: { type: "string" },
  jobs: { type: "string" },
  queue: { type: "string" },
} as const;

export async function retryCommand(args: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseFlags("retry", args, FLAGS, Infinity);
  if (positionals.length === 0 && values.queue === undefined) {
    throw new CliError(
      "Name the failed jobs to retry: deno task kqueue retry <uuid…|all> [--queue=NAME]",
    );
  }
  const store = await open(values);
  const registry = await discoverJobs(String(values.jobs ?? "jobs")).catch(() => undefined);
  const targets = new Map<string, QueueConnection>([[store.name, store]]);
  try {
    const rows = (await store.failed.list()).filter((row) =>
      (positionals.includes("all") || positionals.includes(row.uuid) ||
        (positionals.length === 0 && values.queue !== undefined)) &&
      (values.queue === undefined || row.queue === values.queue)
    );
    const missing = positionals.filter((p) => p !== "all" && !rows.some((r) => r.uuid === p));
    for (const uuid of missing) print(`No failed job with uuid ${uuid}`);
    for (const row of rows) {
      let target = targets.get(row.connection);
      if (!target) {
        target = await open({ ...values, connection: row.connection });
        targets.set(row.connection, target);
      }
      await target.driver.push(row.queue, refreshedPayload(row.payload, registry));
      await store.failed.forget(row.uuid);
      print(`Retried ${row.uuid} on ${row.connection}/${row.queue}`);
    }
    if (rows.length === 0 && missing.length === 0) print("No failed jobs to retry.");
  } finally {
    for (const connection of targets.values()) await connection.close();
  }
}

export async function forgetCommand(args: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseFlags("forget", args, FLAGS, Infinity);
  if (positionals.length === 0) {
    throw new CliError("Name the failed job to forget: deno task kqueue forget <uuid>");
  }
  const connection = await open(values);
  try {
    for (const uuid of positionals) {
      print(
        await connection.failed.forget(uuid) ? `Forgot ${uuid}` : `No failed job with uuid ${uuid}`,
      );
    }
  } finally {
    await connection.close();
  }
}

/** Laravel's RetryCommand: attempts → 0 when present, retryUntil recomputed from the class. */
function refreshedPayload(text: string, registry: JobRegistry | undefined): string {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(text);
  } catch {
    return text; // pushed back as it was; the daemon fails it again with the reason
  }
  if ("attempts" in payload) payload.attempts = 0;
  const data = payload.data as { commandName?: unknown } | undefined;
  const entry = typeof data?.commandName === "string" ? registry?.get(data.commandName) : undefined;
  if (entry && payload.retryUntil !== undefined && payload.retryUntil !== null) {
    const retryUntil = readJobConfig(new entry.Class(), entry.name).retryUntil;
    if (retryUntil !== undefined) payload.retryUntil = retryUntil;
  }
  return JSON.stringify(payload);
}

function open(values: Record<string, unknown>): Promise<QueueConnection> {
  return openConnection({
    ...(values.connection ? { name: String(values.connection) } : {}),
    ...(values.database ? { databasePath: String(values.database) } : {}),
  }).catch((error) => {
    throw openStoreError(error);
  });
}
