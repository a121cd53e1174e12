/**
 * Polls a child's resident memory from `/proc/<pid>/status`. V8's heap flag
 * does not cover ArrayBuffers, and RLIMIT_AS is unusable (V8 reserves ~18 GB
 * of address space), so RSS polling is the only limit that holds for both.
 */

export interface RssMonitorOptions {
  /** Megabytes of VmRSS above which `onExceeded` fires (once). */
  readonly limitMb: number;
  /** Milliseconds between polls. */
  readonly pollMs: number;
  /** Called once, with the RSS seen and the peak (VmHWM) so far, both in MB. */
  readonly onExceeded: (rssMb: number, peakMb: number) => void;
}

export interface RssMonitor {
  /** Highest VmHWM seen, in MB (0 before the first poll). */
  readonly peakMb: number;
  stop(): void;
}

export interface RssSample {
  /** VmRSS in MB. */
  readonly rssMb: number;
  /** VmHWM (peak RSS) in MB. */
  readonly peakMb: number;
}

/** Starts polling `pid`; the first poll is one interval after the start. Stops by itself when the process is gone. */
export function monitorRss(pid: number, options: RssMonitorOptions): RssMonitor {
  let peakMb = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const poll = () => {
    const sample = readRss(pid);
    if (!sample) return; // exited
    peakMb = Math.max(peakMb, sample.peakMb, sample.rssMb);
    if (sample.rssMb > options.limitMb) {
      stopped = true;
      options.onExceeded(sample.rssMb, peakMb);
      return;
    }
    if (!stopped) timer = setTimeout(poll, options.pollMs);
  };
  timer = setTimeout(poll, options.pollMs);

  return {
    get peakMb() {
      return peakMb;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** One reading of `/proc/<pid>/status`, or undefined if the process is gone. */
export function readRss(pid: number): RssSample | undefined {
  let status: string;
  try {
    // Sync on purpose: a procfs read takes microseconds, and the kill decision should not wait on the loop twice.
    status = Deno.readTextFileSync(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const rssKb = fieldKb(status, "VmRSS");
  if (rssKb === undefined) return undefined; // a zombie has no memory lines
  return { rssMb: rssKb / 1024, peakMb: (fieldKb(status, "VmHWM") ?? rssKb) / 1024 };
}

function fieldKb(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) : undefined;
}
