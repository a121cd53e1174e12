/**
 * Start-up checks of the registered jobs against the daemon's options: a bad
 * permission declaration, an unscoped grant without the daemon's opt-in, or a
 * memoryLimit the daemon could not enforce stops the daemon before any job
 * runs, with the job named.
 */
import { resolvePermissions } from "../executor/permission_flags.ts";
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
