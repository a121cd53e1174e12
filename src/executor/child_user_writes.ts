/**
 * The `--child-user` probe's write checks: every path an isolated job
 * declares in `permissions.write`, judged by the operating system for that
 * user. The probe creates and removes a file in each folder (the one test
 * that also catches ACLs and read-only mounts) and opens each file for
 * writing without changing it; a declared path that does not exist yet is
 * judged by the folder it would be created in.
 */
import { dirname } from "node:path";
import type { JobPermissions } from "../jobs/permissions.ts";
import type { ChildUser } from "./child_user.ts";
import { resolvePermissions } from "./permission_flags.ts";

export interface WriteTarget {
  /** What the probe tries: create (and remove) a file in a folder, or open a file for writing. */
  readonly kind: "folder" | "file";
  readonly path: string;
  /** The declared path, when it does not exist yet (`path` is then the folder it would be made in). */
  readonly missing?: string;
  /** The first job that declares it. */
  readonly job: string;
}

/** What the probe reports for a target it could not write. */
export interface Unwritable {
  readonly path: string;
  readonly error: string;
}

/** The paths to probe for `jobs`' declared writes, each once (the daemon is root: it can look). */
export function writeTargets(
  jobs: readonly { readonly name: string; readonly permissions?: JobPermissions }[],
  projectRoot: string,
): WriteTarget[] {
  const targets = new Map<string, WriteTarget>();
  for (const job of jobs) {
    let grant;
    try {
      grant = resolvePermissions(job.permissions ?? {}, projectRoot, job.name, {
        allowUnscoped: true,
      }).write;
    } catch {
      continue; // a bad declaration: the daemon's own check refuses it with its reason next
    }
    if (grant === "all") continue; // unscoped (an opt-in): nothing narrower to check
    for (const path of grant) {
      if (path === "/") continue;
      const target = targetOf(path, job.name);
      if (target && !targets.has(target.path)) targets.set(target.path, target);
    }
  }
  return [...targets.values()];
}

/** The one-line refusal for a target that user cannot write. */
export function unwritableMessage(
  who: string,
  user: ChildUser,
  target: WriteTarget,
  error: string,
  more: number,
): string {
  const owner = `${user.uid}:${user.gid}`;
  const others = more > 0 ? ` (and ${more} more declared write path(s))` : "";
  if (target.missing !== undefined) {
    return `${who} cannot create ${target.missing}, which ${target.job} declares in ` +
      `permissions.write: its folder ${target.path} is not writable by that user (${error})` +
      `${others}; create it for that user, e.g. mkdir -p ${target.missing} && chown -R ${owner} ` +
      `${target.missing}`;
  }
  const fix = target.kind === "folder"
    ? `chown -R ${owner} ${target.path} (or chmod -R o+rwX ${target.path})`
    : `chown ${owner} ${target.path} (or chmod o+w ${target.path})`;
  return `${who} cannot write ${target.path}, which ${target.job} declares in ` +
    `permissions.write (${error})${others}: give that user write access, e.g. ${fix}`;
}

/** A declared path as the probe tries it: itself when it exists, else the folder it would be made in. */
function targetOf(path: string, job: string): WriteTarget | undefined {
  for (let at = path;; at = dirname(at)) {
    try {
      const info = Deno.statSync(at);
      if (at !== path) return { kind: "folder", path: at, missing: path, job };
      return { kind: info.isDirectory ? "folder" : "file", path, job };
    } catch (error) {
      const absent = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.NotADirectory;
      // The daemon cannot look (it runs with narrowed reads): the job's own run reports a refusal.
      if (!absent || at === dirname(at)) return undefined;
    }
  }
}
