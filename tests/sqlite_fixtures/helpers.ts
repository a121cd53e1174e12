/** Shared by the tests/sqlite_* tests: temp databases, a fake clock, child processes. */
import { DatabaseSync } from "node:sqlite";
import { SqliteQueue } from "../../src/drivers/sqlite/sqlite_queue.ts";
import type { SqliteQueueOptions } from "../../src/drivers/sqlite/sqlite_queue_options.ts";

/** A clock tests move by hand. Milliseconds. */
export class FakeClock {
  constructor(public nowMs: number) {}
  readonly now = (): number => this.nowMs;
  /** Sets the time to `seconds` (unix), plus `ms`. */
  at(seconds: number, ms = 0): this {
    this.nowMs = seconds * 1000 + ms;
    return this;
  }
}

export interface TempQueue {
  readonly dir: string;
  readonly path: string;
  readonly clock: FakeClock;
  readonly queue: SqliteQueue;
  /** Opens another queue (another connection) on the same file. */
  another(options?: Partial<SqliteQueueOptions>): Promise<SqliteQueue>;
  /** Rows of `jobs` (or `table`), read through a separate plain connection. */
  rows(table?: string): Record<string, unknown>[];
  cleanup(): Promise<void>;
}

export async function tempQueue(options: Partial<SqliteQueueOptions> = {}): Promise<TempQueue> {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-sqlite-" });
  const path = `${dir}/database.sqlite`;
  const clock = new FakeClock(1_796_312_061_000);
  const opened: SqliteQueue[] = [];
  const open = async (extra: Partial<SqliteQueueOptions> = {}) => {
    const queue = await SqliteQueue.open({ path, clock: clock.now, ...options, ...extra });
    opened.push(queue);
    return queue;
  };
  const queue = await open();
  return {
    dir,
    path,
    clock,
    queue,
    another: open,
    rows: (table = "jobs") => {
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        return db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all().map((row) => ({
          ...row,
        }));
      } finally {
        db.close();
      }
    },
    cleanup: async () => {
      for (const each of opened) await each.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A child process running a script from this folder, read line by line. */
export class FixtureProcess {
  readonly #child: Deno.ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly stderr: Promise<string>;

  constructor(script: string, args: readonly string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(script, import.meta.url).pathname, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = readLines(this.#child.stdout)[Symbol.asyncIterator]();
    this.#writer = this.#child.stdin.getWriter();
    this.stderr = new Response(this.#child.stderr).text();
  }

  /** The next line the child prints; throws if it exits first. */
  async nextLine(): Promise<string> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`the child exited without printing a line: ${await this.stderr}`);
    return value;
  }

  async send(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Closes stdin and waits for the exit. */
  async finished(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    for (;;) if ((await this.#lines.next()).done) break;
    const status = await this.#child.status;
    await this.stderr;
    return status;
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered !== "") yield buffered;
}

/** Records the largest gap between the ticks of a 20 ms interval: a frozen event loop shows. */
export class EventLoopProbe {
  #last = performance.now();
  #started = this.#last;
  maxGapMs = 0;
  ticks = 0;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #waiters: { untilMs: number; resolve: () => void }[] = [];

  constructor(everyMs = 20) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.maxGapMs = Math.max(this.maxGapMs, now - this.#last);
      this.#last = now;
      this.ticks++;
      for (const waiter of [...this.#waiters]) {
        if (now - this.#started >= waiter.untilMs) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    }, everyMs);
  }

  /** Resolves from a tick once the probe has run for `ms`: proof the loop kept turning. */
  ranFor(ms: number): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ untilMs: ms, resolve }));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Tracks whether a promise has settled, without awaiting it. */
export function settledFlag(promise: Promise<unknown>): { settled: boolean } {
  const flag = { settled: false };
  promise.then(() => flag.settled = true, () => flag.settled = true);
  return flag;
}
