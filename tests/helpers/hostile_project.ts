/**
 * A temp app project for the hostile-job suites: the fixtures of
 * tests/fixtures/hostile/ copied into its jobs/ (importing KQueue by absolute
 * URL), a `.env` holding a secret, a storage/out/ folder, and a real daemon
 * running in it (its cwd, so its project root) on a temp SQLite queue.
 */
import { join } from "node:path";
import { prepareDispatch } from "../../src/dispatch.ts";
import type { JobClass } from "../../src/jobs/job.ts";
import { DaemonProcess, isEvent } from "./daemon_process.ts";
import { type TempQueue, tempQueue } from "./temp_project.ts";

const FIXTURES = new URL("../fixtures/hostile/", import.meta.url);
const SRC = new URL("../../src/", import.meta.url).href;

export interface HostileProject {
  readonly dir: string;
  readonly queue: TempQueue;
  readonly daemon: DaemonProcess;
  /** The secret in the project's `.env` and in the daemon's environment. */
  readonly secret: string;
  /** Dispatches one job; returns its uuid. */
  dispatch(Class: JobClass, data?: Record<string, unknown>): Promise<string>;
  /** Waits until `count` jobs have ended (done or failed) in total. */
  settled(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the daemon (SIGTERM), checks it exited 0, and removes everything. */
  stop(): Promise<Deno.CommandStatus>;
}

export async function startHostileProject(daemonArgs: string[] = []): Promise<HostileProject> {
  const queue = await tempQueue();
  const dir = join(queue.dir, "app");
  const jobs = join(dir, "jobs");
  await Deno.mkdir(jobs, { recursive: true });
  await Deno.mkdir(join(dir, "storage", "out"), { recursive: true });
  for await (const entry of Deno.readDir(FIXTURES)) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(new URL(entry.name, FIXTURES));
    await Deno.writeTextFile(
      join(jobs, entry.name),
      source.replaceAll('"../../../src/', `"${SRC}`),
    );
  }
  const secret = `s3cret-${crypto.randomUUID()}`;
  await Deno.writeTextFile(join(dir, ".env"), `APP_KEY=${secret}\n`);
  const daemon = new DaemonProcess(
    ["work", "--json", "--jobs", jobs, "--sleep=1", "--isolated-concurrency=3", ...daemonArgs],
    queue.env({ KQ_HOSTILE_SECRET: secret }),
    { cwd: dir },
  );
  await daemon.waitFor(isEvent("worker:started"), 30_000, "worker:started");
  const ended = (e: { event: string }) => e.event === "job:done" || e.event === "job:failed";
  return {
    dir,
    queue,
    daemon,
    secret,
    async dispatch(Class, data = {}) {
      const prepared = prepareDispatch(Class, data);
      await queue.connection.driver.push("default", prepared.payload);
      return prepared.uuid;
    },
    async settled(count, timeoutMs = 60_000) {
      await daemon.waitForCount(ended, count, timeoutMs, "ended jobs");
    },
    async stop() {
      daemon.kill("SIGTERM");
      const status = await daemon.finished();
      await queue.cleanup();
      return status;
    },
  };
}

/** The daemon's resident memory, from /proc (MB). */
export function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/**
 * The daemon's children now: only pooled runners may be there (a child kept
 * warm for its class's next job), never anything else. Returns their pids,
 * for `assertGone` after the daemon stopped.
 */
export function pooledChildrenOf(pid: number): number[] {
  const children = childrenOf(pid);
  for (const child of children) {
    let cmdline = "";
    try {
      cmdline = Deno.readTextFileSync(`/proc/${child}/cmdline`).replaceAll("\0", " ");
    } catch {
      continue; // exited meanwhile
    }
    if (!cmdline.includes("executor/child/runner.ts")) {
      throw new Error(`the daemon has a child that is not a pooled runner: ${cmdline}`);
    }
  }
  return children;
}

/** Throws if any of `pids` is still alive (and not a zombie). */
export function assertGone(pids: readonly number[]): void {
  const alive = pids.filter((pid) => {
    try {
      return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
    } catch {
      return false;
    }
  });
  if (alive.length > 0) throw new Error(`children outlived the daemon: ${alive.join(", ")}`);
}

/** Live processes whose parent is `pid` (a leftover child would be a leak). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      if (/^State:\s+Z/m.test(status)) continue;
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) === pid) children.push(Number(entry.name));
    } catch {
      // Gone while we looked.
    }
  }
  return children;
}
