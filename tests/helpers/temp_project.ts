/** A temp folder with a fresh SQLite queue, and a connection to it from the test process. */
import { openConnection, type QueueConnection } from "../../src/mod.ts";

export interface TempQueue {
  readonly dir: string;
  readonly databasePath: string;
  readonly connection: QueueConnection;
  /** Env for a daemon process on the same file. */
  env(extra?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
}

export async function tempQueue(retryAfter = 90): Promise<TempQueue> {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-test-" });
  const databasePath = `${dir}/database.sqlite`;
  const connection = await openConnection({ name: "database", databasePath, retryAfter });
  return {
    dir,
    databasePath,
    connection,
    env: (extra = {}) => ({
      QUEUE_CONNECTION: "database",
      DB_CONNECTION: "sqlite",
      DB_DATABASE: databasePath,
      DB_QUEUE_RETRY_AFTER: String(retryAfter),
      ...extra,
    }),
    cleanup: async () => {
      await connection.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Lines of a file the fixture jobs append to (empty when it does not exist yet). */
export async function readLines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((line) => line !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** Dispatches `count` jobs of `Class` onto the temp queue (the same code path as Job.dispatch()). */
export async function dispatchTo(
  queue: TempQueue,
  // deno-lint-ignore no-explicit-any
  Class: any,
  data: Record<string, unknown> = {},
  options: { queue?: string; delay?: number; count?: number } = {},
): Promise<string[]> {
  const { prepareDispatch } = await import("../../src/dispatch.ts");
  const prepared = Array.from(
    { length: options.count ?? 1 },
    () => prepareDispatch(Class, data, options),
  );
  return await queue.connection.driver.pushMany(
    options.queue ?? prepared[0]!.queue ?? "default",
    prepared.map((p) => p.payload),
    { delay: options.delay ?? 0 },
  );
}

/** Asserts the queue holds nothing: no ready, delayed or reserved row. */
export async function assertQueueEmpty(queue: TempQueue, name = "default"): Promise<void> {
  const counts = await queue.connection.driver.counts(name);
  if (counts.ready + counts.delayed + counts.reserved !== 0) {
    throw new Error(`queue ${name} is not empty: ${JSON.stringify(counts)}`);
  }
}
