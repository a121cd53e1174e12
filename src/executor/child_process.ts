/**
 * Spawns a child in its own process group and kills the whole group:
 * `detached: true` keeps a Ctrl-C on the daemon's group from reaching children
 * before the drain, and a group kill also takes anything the job spawned.
 * With `user`, the child runs as that uid/gid (the OS layer under Deno's own
 * permissions; the daemon must be root).
 */
import type { ChildUser } from "./child_user.ts";

export interface ChildSpawnOptions {
  readonly args: readonly string[];
  readonly cwd: string;
  /** The child's whole environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Run as this uid/gid instead of the daemon's (supplementary groups are dropped). */
  readonly user?: ChildUser;
}

export interface SpawnedChild {
  readonly pid: number;
  readonly status: Promise<Deno.CommandStatus>;
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** True once `status` has resolved. */
  readonly exited: boolean;
  /** Sends `signal` to the child's process group; a group already gone is not an error. */
  killGroup(signal: Deno.Signal): void;
  /** SIGTERM to the group, then SIGKILL after `graceMs` unless the child has exited by then. */
  terminate(graceMs: number): void;
}

/** Starts `Deno.execPath()` with `args`. Throws if the process cannot be spawned. */
export function spawnChild(options: ChildSpawnOptions): SpawnedChild {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...options.args],
    cwd: options.cwd,
    clearEnv: true,
    env: { ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: true,
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
  }).spawn();

  let exited = false;
  let escalation: ReturnType<typeof setTimeout> | undefined;
  const status = child.status.then((result) => {
    exited = true;
    clearTimeout(escalation);
    return result;
  });

  const killGroup = (signal: Deno.Signal) => {
    try {
      Deno.kill(-child.pid, signal);
    } catch (error) {
      // ESRCH: every member of the group has exited already.
      if (!(error instanceof Deno.errors.NotFound) && !isNoSuchProcess(error)) throw error;
    }
  };

  return {
    pid: child.pid,
    status,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    get exited() {
      return exited;
    },
    killGroup,
    terminate(graceMs) {
      if (exited || escalation !== undefined) return;
      killGroup("SIGTERM");
      escalation = setTimeout(() => killGroup("SIGKILL"), graceMs);
    },
  };
}

function isNoSuchProcess(error: unknown): boolean {
  return error instanceof Error && /ESRCH|No such process/i.test(error.message);
}
