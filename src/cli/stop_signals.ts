/**
 * How a daemon started from the CLI learns it should stop, beyond its own
 * signal handlers: a signal that arrives twice for one event (under `deno
 * task`) counts once, and a vanished npm/npx parent (which swallows a
 * supervisor's SIGTERM) stops it gracefully.
 */

/**
 * Under `deno task`, one Ctrl-C (or `kill -TERM -<pgid>`, or systemd's control-group stop)
 * reaches the daemon twice: from the process group, and forwarded by `deno task` 0.2–2.5 ms
 * later (measured, also with the CPUs busy). A repeat of the same signal within this window is
 * that one event; a deliberate second Ctrl-C comes later and forces.
 */
export const SAME_SIGNAL_MS = 250;

/** Passes each signal on, except a repeat of the last one passed within SAME_SIGNAL_MS. */
export function ignoringEchoes(
  onSignal: (signal: string) => void,
  now: () => number = () => performance.now(),
): (signal: string) => void {
  let last: { signal: string; at: number } | undefined;
  return (signal) => {
    const at = now();
    if (last?.signal === signal && at - last.at < SAME_SIGNAL_MS) return;
    last = { signal, at };
    onSignal(signal);
  };
}

/**
 * Under `npx deno …` a supervisor's SIGTERM reaches npx, which exits without passing it on (its
 * `sh -c` goes too; a `deno task` below it is re-parented and keeps running). So when npm/npx
 * started the daemon, directly or through `sh -c` and `deno task`, its loss stops the daemon
 * gracefully. Any other parent (a script, nohup, tmux) may exit and leave the daemon running.
 * Without read access to /proc there is no watch.
 */
export function watchNpmParent(onGone: () => void): () => void {
  const link = belowNpm();
  if (!link) return () => {};
  const timer = setInterval(() => {
    if (parentOf(link.pid) !== link.npm) {
      clearInterval(timer);
      onGone();
    }
  }, 1000);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/** The daemon or the wrapper (`sh -c`, `deno task`) whose parent is npm/npx, and npm's pid. */
function belowNpm(): { pid: number; npm: number } | undefined {
  let pid = Deno.pid;
  for (let hops = 0; hops < 4; hops++) {
    const parent = parentOf(pid);
    if (parent === undefined || parent <= 1) return undefined;
    const argv = commandLine(parent);
    if (isNpm(argv)) return { pid, npm: parent };
    if (!isWrapper(argv)) return undefined;
    pid = parent;
  }
  return undefined;
}

function parentOf(pid: number): number | undefined {
  if (pid === Deno.pid) return Deno.ppid;
  try {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined; // gone, or no read access
  }
}

function commandLine(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((arg) => arg !== "");
  } catch {
    return [];
  }
}

/** npm retitles itself ("npm exec deno@2.9.6 task kqueue work"); before that it is node + npx-cli.js. */
function isNpm([first = "", second = ""]: string[]): boolean {
  return /^np[mx](\s|$)/.test(first) || /(^|\/)np[mx](-cli\.js)?$/.test(second) ||
    /(^|\/)np[mx]$/.test(first);
}

function isWrapper([first = "", second = ""]: string[]): boolean {
  const name = first.slice(first.lastIndexOf("/") + 1);
  return (["sh", "bash", "dash"].includes(name) && second === "-c") ||
    (name === "deno" && second === "task");
}
