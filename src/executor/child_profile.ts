/**
 * A job class's child profile: everything fixed when its child is spawned —
 * the `deno run` arguments (exact `--allow-*` lists, the read grants for its
 * module graph, the heap flag), the environment (declared variables only),
 * and the setup line telling the runner what to load and what to revoke.
 * Jobs with the same profile can share a child; nothing else can.
 */
import { fileURLToPath } from "node:url";
import type { ChildSpawnOptions } from "./child_process.ts";
import type { ChildUser } from "./child_user.ts";
import type { IsolatedRunRequest } from "./isolated_request.ts";
import { JOB_WORKER_URL, localModuleFiles } from "./module_graph.ts";
import {
  grantCovers,
  isCoveredBy,
  permissionArgs,
  type ResolvedGrant,
  resolvePermissions,
} from "./permission_flags.ts";
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
  /** The declared environment variables (all, for an opted-in `"all"`), read at each spawn. */
  readonly envNames: ResolvedGrant;
  /** The uid/gid the child runs as (`--child-user`), if not the daemon's. */
  readonly user?: ChildUser;
  readonly setup: ChildSetup;
}

/** The fixed child entry: trusted code only, since its static graph is loaded unchecked. */
const RUNNER_PATH = fileURLToPath(new URL("./child/runner.ts", import.meta.url));
/** KQueue's own `src/`: its files may be loaded by any job, wherever the project is. */
export const KQUEUE_SRC_DIR = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

/** What the daemon decides for every child, whatever the job: `--allow-unscoped`, `--child-user`. */
export interface ProfileSettings {
  /** The daemon allows this job's unscoped grants. @default false */
  readonly allowUnscoped?: boolean;
  readonly childUser?: ChildUser;
}

/** The settings part of an attempt's executor options. */
export function profileSettings(
  options: { readonly allowUnscoped?: boolean; readonly childUser?: ChildUser },
): ProfileSettings {
  return {
    ...(options.allowUnscoped ? { allowUnscoped: true } : {}),
    ...(options.childUser ? { childUser: options.childUser } : {}),
  };
}

/** The pool key of a request: what is fixed in a child at spawn. */
export function profileKey(request: IsolatedRunRequest, settings: ProfileSettings = {}): string {
  return `${request.moduleUrl}#${request.exportName}#${request.memoryLimitMb ?? ""}#${
    JSON.stringify(request.permissions)
  }#${settings.allowUnscoped === true}#${settings.childUser?.spec ?? ""}`;
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
  settings: ProfileSettings = {},
): Promise<ChildProfile> {
  const declared = resolvePermissions(request.permissions, projectRoot, request.jobName, {
    allowUnscoped: settings.allowUnscoped === true,
  });
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
    key: profileKey(request, settings),
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
    ...(settings.childUser ? { user: settings.childUser } : {}),
    setup: {
      moduleUrl: request.moduleUrl,
      exportName: request.exportName,
      graceMs,
      // Only what the declaration does not cover: revoking a file drops any grant that contains it.
      revokeReads: loadReads.filter((file) => !grantCovers(declared.read, file)),
    },
  };
}

/** The job's graph and the Worker entry's graph, limited to the project and KQueue's `src/`. */
export async function filesToLoad(
  moduleUrl: string,
  projectRoot: string,
): Promise<readonly string[]> {
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
  return {
    args: profile.args,
    cwd: profile.cwd,
    env: childEnv(profile.envNames),
    ...(profile.user ? { user: profile.user } : {}),
  };
}

/**
 * Only the declared variables (all of the daemon's for an opted-in `"all"`;
 * read at spawn: a child keeps the values it started with), plus what Deno
 * itself needs; the job can read none of the extras.
 */
export function childEnv(declaredNames: ResolvedGrant): Record<string, string> {
  const env: Record<string, string> = declaredNames === "all" ? Deno.env.toObject() : {};
  for (const name of declaredNames === "all" ? [] : declaredNames) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  env.NO_COLOR = "1";
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir !== undefined) env.DENO_DIR = denoDir;
  return env;
}
