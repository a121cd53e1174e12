/**
 * Start-up check for `--child-user`: starts one probe child as that user,
 * with the flags real children get, and turns what it could not do into one
 * clear error (the Deno binary it cannot run, the files it cannot read, the
 * job modules it cannot load, the paths jobs declare for writing that it
 * cannot write), so a misconfigured daemon never takes a job.
 */
import { fileURLToPath } from "node:url";
import type { JobPermissions } from "../jobs/permissions.ts";
import type { ChildUser } from "./child_user.ts";
import { type Unwritable, unwritableMessage, writeTargets } from "./child_user_writes.ts";
import { JOB_WORKER_URL } from "./module_graph.ts";
import { childEnv, filesToLoad } from "./child_profile.ts";

const PROBE_PATH = fileURLToPath(new URL("./child/access_probe.ts", import.meta.url));
const RUNNER_FILES = [
  "./child/runner.ts",
  "./child/worker_messages.ts",
  "./lazy_deadline.ts",
  "./line_reader.ts",
  "./protocol.ts",
]
  .map((path) => fileURLToPath(new URL(path, import.meta.url)));
const PROBE_TIMEOUT_MS = 30_000;

export interface ProbedJob {
  readonly name: string;
  readonly moduleUrl: string;
  /** The job's declaration: its `write` paths must be writable by the user. @default none */
  readonly permissions?: JobPermissions;
}

/** Throws an Error with a one-line reason when children cannot run as `user`. */
export async function checkChildUser(
  user: ChildUser,
  jobs: readonly ProbedJob[],
  projectRoot: string,
): Promise<void> {
  const who = `--child-user=${user.spec} (uid ${user.uid}, gid ${user.gid})`;
  const files = new Set([
    PROBE_PATH,
    ...RUNNER_FILES,
    ...await filesToLoad(JOB_WORKER_URL, projectRoot),
  ]);
  for (const job of jobs) {
    for (const file of await filesToLoad(job.moduleUrl, projectRoot)) files.add(file);
  }
  const writes = writeTargets(jobs, projectRoot);
  const writePaths = writes.map((target) => target.path).join(",");

  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--cached-only",
        `--allow-read=${[...files].join(",")}`,
        ...(writes.length > 0 ? [`--allow-write=${writePaths}`] : []),
        // Packages like ioredis read the environment at import; the probe's holds only NO_COLOR/DENO_DIR.
        "--allow-env",
        PROBE_PATH,
      ],
      cwd: projectRoot,
      clearEnv: true,
      env: childEnv([]),
      uid: user.uid,
      gid: user.gid,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(spawnFailure(who, user, error as Error, projectRoot));
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), PROBE_TIMEOUT_MS);
  const input = JSON.stringify({
    files: [...files],
    modules: jobs.map((job) => job.moduleUrl),
    writes: writes.map(({ kind, path }) => ({ kind, path })),
  });
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input)).catch(() => {});
  await writer.close().catch(() => {});
  const output = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(output.stdout).trim();
  const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join(" | ");
  let report: {
    unreadable: { path: string; error: string }[];
    unloadable: { url: string; error: string }[];
    unwritable: Unwritable[];
  };
  try {
    report = JSON.parse(stdout.split("\n").at(-1) ?? "");
  } catch {
    throw new Error(
      `${who}: a test child started as that user failed (exit ${output.code}${
        output.signal ? `, ${output.signal}` : ""
      }): ${
        stderr || "no output"
      }; it must be able to read the project, KQueue's src/ and the Deno cache`,
    );
  }
  const [unreadable] = report.unreadable;
  if (unreadable) {
    const more = report.unreadable.length > 1 ? ` and ${report.unreadable.length - 1} more` : "";
    throw new Error(
      `${who} cannot read ${unreadable.path}${more} (${unreadable.error}), which isolated children load: make the project and KQueue's src/ readable by that user (e.g. chmod -R o+rX)`,
    );
  }
  const [unloadable] = report.unloadable;
  if (unloadable) {
    const name = jobs.find((job) => job.moduleUrl === unloadable.url)?.name ?? unloadable.url;
    throw new Error(
      `${who} cannot load ${name} (${unloadable.url}): ${unloadable.error}; npm packages it imports must be readable by that user too (node_modules, or the Deno cache DENO_DIR)`,
    );
  }
  const [unwritable] = report.unwritable;
  if (unwritable) {
    const target = writes.find((each) => each.path === unwritable.path)!;
    const more = report.unwritable.length - 1;
    throw new Error(unwritableMessage(who, user, target, unwritable.error, more));
  }
}

function spawnFailure(who: string, user: ChildUser, thrown: Error, projectRoot: string): string {
  const error = {
    name: thrown.name,
    message: thrown.message.replace(/^Failed to spawn '[^']*': /, ""),
  };
  const denied = thrown instanceof Deno.errors.PermissionDenied;
  if (denied && /not permitted/i.test(error.message)) {
    return `${who} needs the daemon to run as root: starting a child as uid ${user.uid} failed (${error.message})`;
  }
  if (denied) {
    return `${who} cannot start the Deno binary ${Deno.execPath()} or enter the project ${projectRoot} (${error.message}): install Deno where that user can run it (e.g. /usr/local/bin/deno), start the daemon with that binary, and make the project readable by the user`;
  }
  return `${who}: could not start a child as that user (${error.message})`;
}
