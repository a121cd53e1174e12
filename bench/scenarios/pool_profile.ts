/**
 * Where the time of a pooled isolated job goes, without the queue: N no-op
 * jobs through C reused children, C loops each running one job at a time.
 * `--mode pool` uses KQueue's pool (IsolatedPool → child/runner.ts → its
 * job Worker); `--mode bare` the same pipes and Worker hop with nothing else
 * (bare_child.ts). Reports jobs/s and CPU per job on each side: the daemon's
 * (this process, getrusage) and the children's (/proc/<pid>/stat).
 *
 * Usage: pool_profile.ts --mode pool|bare --jobs N --children C
 * Prints {"mode":…,"jobs":N,"jobsPerSecond":…,"daemonCpuUs":…,"childCpuUs":…}.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { IsolatedPool } from "../../src/executor/isolated_pool.ts";
import { resolvePoolOptions } from "../../src/executor/pool_options.ts";
import { forEachLine } from "../../src/executor/line_reader.ts";
import { serializeJobCommand } from "../../src/payload/php_serialize.ts";
import { BENCH_JOBS_URL, REPO_ROOT, report } from "./scenario_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mode: { type: "string", default: "pool" },
    jobs: { type: "string", default: "10000" },
    children: { type: "string", default: "4" },
  },
});
const jobs = Number(values.jobs);
const children = Number(values.children);
const WARM_UP_JOBS = 200;

const request = {
  moduleUrl: BENCH_JOBS_URL,
  exportName: "BenchIsolatedNoop",
  jobName: "BenchIsolatedNoop",
  command: serializeJobCommand("BenchIsolatedNoop", {}),
  attempt: 1,
  jobId: "1",
  uuid: crypto.randomUUID(),
  queue: "default",
  connection: "database",
  timeoutMs: 60_000,
  permissions: {},
  mode: "handle" as const,
};

/** CPU milliseconds (user + system) of a live process. */
function processCpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  const ticksPerMs = 0.1; // USER_HZ = 100
  return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
}

interface Runner {
  readonly pids: number[];
  runOne(seq: number): Promise<void>;
  close(): Promise<void>;
}

function poolRunner(): Runner[] {
  const pool = new IsolatedPool({
    projectRoot: REPO_ROOT,
    pool: resolvePoolOptions({ maxJobsPerChild: 1e9, min: 0 }, children),
  });
  const pids: number[] = [];
  return Array.from({ length: children }, () => ({
    pids,
    async runOne() {
      const outcome = await pool.run(request, {
        onSpawn: (pid) => pids.includes(pid) || pids.push(pid),
      });
      if (outcome.kind !== "success") throw new Error(`a pooled job ended ${outcome.kind}`);
    },
    close: () => pool.close(),
  }));
}

function bareRunner(): Runner {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read",
      new URL("./bare_child.ts", import.meta.url).pathname,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  let answer: (() => void) | undefined;
  void forEachLine(child.stdout, () => answer?.());
  const line = JSON.stringify({ ...request, seq: 0 });
  return {
    pids: [child.pid],
    runOne: (seq) =>
      new Promise<void>((resolve) => {
        answer = resolve;
        void writer.write(encoder.encode(`${line.slice(0, -1)},"seq":${seq}}\n`));
      }),
    async close() {
      await writer.close();
      await child.status;
    },
  };
}

await report(async () => {
  const runners = values.mode === "bare"
    ? Array.from({ length: children }, bareRunner)
    : poolRunner();
  let next = 0;
  const drain = (total: number) =>
    Promise.all(runners.map(async (runner) => {
      while (next < total) await runner.runOne(next++);
    }));
  await drain(WARM_UP_JOBS);
  next = 0;
  const pids = [...new Set(runners.flatMap((r) => r.pids))];
  const cpuBefore = process.cpuUsage();
  const childBefore = pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const started = performance.now();
  await drain(jobs);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const childMs = pids.reduce((sum, pid) => sum + processCpuMs(pid), 0) - childBefore;
  await Promise.all(runners.map((r) => r.close()));
  return {
    mode: values.mode,
    jobs,
    children,
    jobsPerSecond: jobs / seconds,
    daemonCpuUs: (cpu.user + cpu.system) / jobs,
    childCpuUs: (childMs * 1000) / jobs,
  };
});
