/** `kqueue failed` (Laravel's queue:failed) and `kqueue create-tables`. */
import { openConnection } from "../connection.ts";
import { parseFlags } from "./args.ts";
import { openStoreError } from "./cli_error.ts";

const FLAGS = {
  database: { type: "string" },
  connection: { type: "string" },
  json: { type: "boolean" },
} as const;

export async function failedCommand(args: string[], print: (line: string) => void): Promise<void> {
  const { values } = parseFlags("failed", args, FLAGS, 0);
  const connection = await open(values);
  try {
    const rows = await connection.failed.list();
    if (values.json) {
      for (const row of rows) print(JSON.stringify(row));
      return;
    }
    if (rows.length === 0) {
      print("No failed jobs.");
      return;
    }
    for (const row of rows) {
      let name = "?";
      try {
        name = JSON.parse(row.payload).displayName ?? name;
      } catch { /* an unreadable payload is shown as "?" */ }
      const first = row.exception.split("\n")[0];
      print(`${row.uuid}  ${row.failedAt}  ${row.connection}/${row.queue}  ${name}  ${first}`);
    }
  } finally {
    await connection.close();
  }
}

export async function createTablesCommand(
  args: string[],
  print: (line: string) => void,
): Promise<void> {
  const { values } = parseFlags("create-tables", args, FLAGS, 0);
  const connection = await open(values, true);
  print(`Tables ready in ${connection.description}`);
  await connection.close();
}

function open(values: Record<string, unknown>, createTables = false) {
  return openConnection({
    ...(values.connection ? { name: String(values.connection) } : {}),
    ...(values.database ? { databasePath: String(values.database) } : {}),
    createTables,
  }).catch((error) => {
    throw openStoreError(error);
  });
}
