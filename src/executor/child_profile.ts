/**
 * A job class's child profile: everything fixed when its child is spawned —
 * the `deno run` arguments (exact `--allow-*` lists, the read grants for its
 * module graph, the heap flag), the environment (declared variables only),
 * and the setup line telling the runner what to load and what to revoke.
 * Jobs with the same profile can share a child; nothing else can.
 */
import { fileURLToPath } from "node:url";
import type { ChildSpawnOptions } from "./child_process.ts";
import type { IsolatedRunRequest } from "./isolated_request.ts";
import { JOB_WORKER_URL, localModuleFiles } from "./module_graph.ts";
import { isCoveredBy, permissionArgs, resolvePermissions } from "./permission_flags.ts";
import type { ChildSetup } from "./protocol.ts";

export interface ChildProfile {
  /** Same key = same class, permissions and memory limit: the child can be shared. */
  readonly key: string;
  readonly jobName: string;
  readonly moduleUrl: string;
  readonly memoryLimitMb?: number;
  readonly args: readonly string[];
  /** The child's cwd: the project root. */
  readonly cwd: string;
  /** The declared environment variables, whose values are read at each spawn. */
  readonly envNames: readonly string[];
  readonly setup: ChildSetup;
}

/** The fixed child entry: trusted code only, since its static graph is loaded unchecked. */
const RUNNER_PATH = fileURLToPath(new URL("./child/runner.ts", import.meta.url));
/** KQueue's own `src/`: its files may be loaded by any job, wherever the project is. */
const KQUEUE_SRC_DIR = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

/** The pool key of a request: what is fixed in a child at spawn. */
export function profileKey(request: IsolatedRunRequest): string {
  return `${request.moduleUrl}#${request.exportName}#${request.memoryLimitMb ?? ""}#${
    JSON.stringify(request.permissions)
  }`;
}

/**
 * Builds the profile of `request`'s class. Invalid permissions throw a
 * TypeError (before anything is spawned); a module graph that cannot be
 * resolved rejects with an Error naming the module.
 */
export async function resolveProfile(
  request: IsolatedRunRequest,
  projectRoot: string,
  graceMs: number,
): Promise<ChildProfile> {
  const declared = resolvePermissions(request.permissions, projectRoot, request.jobName);
  let loadReads: readonly string[];
  try {
    loadReads = await filesToLoad(request.moduleUrl, projectRoot);
  } catch (error) {
    throw new Error(
      `Could not resolve the modules of ${request.jobName} (${request.moduleUrl}): ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  const memoryArgs = request.memoryLimitMb === undefined
    ? []
    : [`--v8-flags=--max-old-space-size=${request.memoryLimitMb}`];
  return {
    key: profileKey(request),
    jobName: request.jobName,
    moduleUrl: request.moduleUrl,
    ...(request.memoryLimitMb === undefined ? {} : { memoryLimitMb: request.memoryLimitMb }),
    args: [
      "run",
      "--no-prompt",
      "--cached-only",
      ...permissionArgs(declared, loadReads),
      ...memoryArgs,
      RUNNER_PATH,
    ],
    cwd: projectRoot,
    envNames: declared.env,
    setup: {
      moduleUrl: request.moduleUrl,
      exportName: request.exportName,
      graceMs,
      // Only what the declaration does not cover: revoking a file drops any grant that contains it.
      revokeReads: loadReads.filter((file) => !isCoveredBy(file, declared.read)),
    },
  };
}

/** The job's graph and the Worker entry's graph, limited to the project and KQueue's `src/`. */
async function filesToLoad(moduleUrl: string, projectRoot: string): Promise<readonly string[]> {
  const [jobFiles, workerFiles] = await Promise.all([
    localModuleFiles(moduleUrl, projectRoot),
    localModuleFiles(JOB_WORKER_URL, projectRoot),
  ]);
  const roots = [projectRoot, KQUEUE_SRC_DIR];
  // A static import of a file elsewhere (say /etc/shadow as text) stays ungranted, so it fails to load.
  return [...new Set([...workerFiles, ...jobFiles])].filter((file) => isCoveredBy(file, roots));
}

/** How to spawn a child of `profile` now. */
export function spawnOptionsOf(profile: ChildProfile): ChildSpawnOptions {
  return { args: profile.args, cwd: profile.cwd, env: childEnv(profile.envNames) };
}

/**
 * Only the declared variables (read at spawn: a child keeps the values it
 * started with), plus what Deno itself needs; the job can read none of the extras.
 */
function childEnv(declaredNames: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of declaredNames) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  env.NO_COLOR = "1";
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir !== undefined) env.DENO_DIR = denoDir;
  return env;
}
