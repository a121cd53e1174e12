/**
 * Runs the real CLI (`src/cli/main.ts`) as a child process and lets tests
 * await its JSON events instead of sleeping.
 */
const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const PROJECT_ROOT = new URL("../..", import.meta.url).pathname;
export const FIXTURE_JOBS = new URL("../fixtures/jobs", import.meta.url).pathname;

export interface DaemonEvent {
  event: string;
  job?: { id: string; uuid: string; name: string; queue: string; attempt: number };
  error?: { name: string; message: string };
  [key: string]: unknown;
}

export interface DaemonSpawnOptions {
  /** The daemon's working directory (its project root). @default the test's */
  readonly cwd?: string;
  /** The Deno binary to run it with. @default Deno.execPath() */
  readonly deno?: string;
  /** Deno's permission flags for the daemon itself. @default ["-A"] */
  readonly permissions?: readonly string[];
  /** Run as `deno task kqueue …` (the README's way), in its own process group (see killGroup). */
  readonly task?: boolean;
}

export class DaemonProcess {
  readonly events: DaemonEvent[] = [];
  readonly stderr: string[] = [];
  readonly child: Deno.ChildProcess;
  readonly status: Promise<Deno.CommandStatus>;
  #waiters: Array<() => void> = [];
  readonly #group: boolean;

  constructor(args: string[], env: Record<string, string>, options: DaemonSpawnOptions = {}) {
    this.#group = options.task === true;
    this.child = new Deno.Command(options.deno ?? Deno.execPath(), {
      args: options.task
        ? ["task", "--quiet", "kqueue", ...args]
        : ["run", ...(options.permissions ?? ["-A"]), CLI, ...args],
      env: { NO_COLOR: "1", ...env },
      ...(options.cwd ? { cwd: options.cwd } : options.task ? { cwd: PROJECT_ROOT } : {}),
      ...(options.task ? { detached: true } : {}),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = this.#readLines(this.child.stdout, (line) => {
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.stderr.push(`[stdout] ${line}`);
      }
    });
    const err = this.#readLines(this.child.stderr, (line) => this.stderr.push(line));
    this.status = Promise.all([out, err]).then(() => this.child.status);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Resolves with the first event (already seen or future) matching `match`; rejects after `timeoutMs`. */
  waitFor(
    match: (event: DaemonEvent) => boolean,
    timeoutMs = 20_000,
    what = "event",
  ): Promise<DaemonEvent> {
    return this.waitForCount(match, 1, timeoutMs, what).then((events) => events[0]!);
  }

  /** Resolves once `count` matching events have been seen. */
  waitForCount(
    match: (event: DaemonEvent) => boolean,
    count: number,
    timeoutMs = 20_000,
    what = "events",
  ): Promise<DaemonEvent[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.filter(match);
        if (found.length >= count) {
          cleanup();
          resolve(found);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `Timed out waiting for ${count} ${what}; saw ${this.events.length} events. stderr:\n${
              this.stderr.slice(-20).join("\n")
            }`,
          ),
        );
      }, timeoutMs);
      const waiter = () => void check();
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.#waiters.push(waiter);
    });
  }

  kill(signal: Deno.Signal): void {
    this.child.kill(signal);
  }

  /** Signals the whole process group, as Ctrl-C or systemd's KillMode=control-group do (needs `task`). */
  killGroup(signal: Deno.Signal): void {
    Deno.kill(-this.child.pid, signal);
  }

  /** Waits for exit; kills with SIGKILL if it does not exit in time. */
  async finished(timeoutMs = 30_000): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => {
      try {
        if (this.#group) this.killGroup("SIGKILL");
        else this.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, timeoutMs);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }

  async #readLines(
    stream: ReadableStream<Uint8Array>,
    onLine: (line: string) => void,
  ): Promise<void> {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let index;
      while ((index = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 1);
        if (line.trim() !== "") onLine(line);
        for (const wake of this.#waiters.slice()) wake();
      }
    }
    if (buffer.trim() !== "") onLine(buffer);
    for (const wake of this.#waiters.slice()) wake();
  }
}

export const isEvent = (name: string, jobName?: string) => (event: DaemonEvent) =>
  event.event === name && (jobName === undefined || event.job?.name === jobName);

/** Runs the real daemon with `--json --stop-when-drained` until it exits; asserts exit code 0. */
export async function runToDrain(
  env: Record<string, string>,
  extraArgs: string[] = [],
): Promise<DaemonProcess> {
  const daemon = new DaemonProcess(
    ["work", "--json", "--jobs", FIXTURE_JOBS, "--stop-when-drained", "--sleep=1", ...extraArgs],
    env,
  );
  return await exitedOk(daemon);
}

/** Waits for the daemon to exit; throws with its stderr unless it exited 0. */
export async function exitedOk(daemon: DaemonProcess, timeoutMs = 60_000): Promise<DaemonProcess> {
  const status = await daemon.finished(timeoutMs);
  if (status.code !== 0) {
    throw new Error(`daemon exited ${status.code}:\n${daemon.stderr.join("\n")}`);
  }
  return daemon;
}
