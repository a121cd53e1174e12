/**
 * Start-up checks of the registered jobs against the daemon's options: a bad
 * permission declaration, an unscoped grant without the daemon's opt-in, or a
 * memoryLimit the daemon could not enforce stops the daemon before any job
 * runs, with the job named.
 */
import { fileURLToPath } from "node:url";
import { KQUEUE_SRC_DIR } from "../executor/child_profile.ts";
import { resolvePermissions } from "../executor/permission_flags.ts";
import { isCoveredBy } from "../executor/permission_paths.ts";
import type { ResolvedDaemonOptions } from "./options.ts";

/** A bad declaration fails at start-up, not on the job's first attempt. */
export function checkDeclarations(o: ResolvedDaemonOptions): void {
  const isolated = o.registry.list().filter((job) => job.config.isolated);
  for (const name of o.allowUnscoped) {
    if (!isolated.some((job) => job.name === name)) {
      throw new TypeError(
        `Cannot start worker as --allow-unscoped names ${name}, which is not a registered isolated job (isolated: ${
          isolated.map((job) => job.name).join(", ") || "none"
        })`,
      );
    }
  }
  for (const job of isolated) {
    resolvePermissions(job.config.permissions, o.projectRoot, job.name, {
      allowUnscoped: o.allowUnscoped.includes(job.name),
    });
    checkLoadable(job.name, job.moduleUrl, o.projectRoot);
  }
  // A memoryLimit is enforced by polling the child's /proc/<pid>/status: unreadable, it would
  // silently not be enforced (only V8's heap cap, which misses ArrayBuffers).
  const limited = isolated.find((job) => job.config.memoryLimit !== undefined);
  if (
    limited &&
    Deno.permissions.querySync({ name: "read", path: "/proc/1/status" }).state !== "granted"
  ) {
    throw new TypeError(
      `Cannot start worker as ${limited.name} has memoryLimit = ${limited.config.memoryLimit}, which needs the daemon to read /proc (it polls the child's RSS there): add /proc to the daemon's --allow-read`,
    );
  }
}

/**
 * A child may read the job's module only inside the project root (the
 * daemon's working directory) or KQueue's own src/: a jobs folder elsewhere
 * would fail every attempt at load, so it fails at start-up, with the fix.
 */
function checkLoadable(name: string, moduleUrl: string | undefined, projectRoot: string): void {
  if (moduleUrl === undefined || !moduleUrl.startsWith("file:")) return;
  const file = fileURLToPath(moduleUrl);
  if (isCoveredBy(file, [projectRoot, KQUEUE_SRC_DIR])) return;
  throw new TypeError(
    `Cannot start worker as ${name} is isolated and its module ${file} is outside the project ` +
      `root ${projectRoot} (the daemon's working directory), so its child may not load it: ` +
      `start the daemon from your project's folder (cd there, then work --jobs ./jobs)`,
  );
}
