/**
 * A job's declared permissions → the exact `--allow-*` arguments of its child.
 *
 * Every entry is checked, because a wrong one fails open: Deno reads a bare
 * `--allow-read` as "everything", and commas split one entry into two.
 * Unscoped grants (`"all"`, or the path `/`) need two opt-ins: the job
 * declares them and the daemon allows them for that job (`--allow-unscoped`).
 * `--allow-all` is never produced.
 */
import {
  type JobPermissions,
  PERMISSION_KINDS,
  type PermissionKind,
  UNSCOPED,
} from "../jobs/permissions.ts";
import { isCoveredBy, resolveDeclaredPath } from "./permission_paths.ts";

export { isCoveredBy } from "./permission_paths.ts";

/** A kind's validated grant: absolute paths / checked names, or everything of that kind. */
export type ResolvedGrant = readonly string[] | typeof UNSCOPED;

/** Declared permissions with every path absolute and every entry validated. */
export type ResolvedPermissions = { readonly [K in PermissionKind]: ResolvedGrant };

export interface ResolveOptions {
  /** The daemon allows this job's unscoped grants (`--allow-unscoped=<job>`). @default false */
  readonly allowUnscoped?: boolean;
}

const PATH_KINDS: ReadonlySet<PermissionKind> = new Set(["read", "write", "ffi"]);
const NET_ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SYS_NAME = /^[A-Za-z]+$/;
const PROGRAM_NAME = /^[A-Za-z0-9._+-]+$/;

/**
 * Validates `permissions` and resolves its paths against `projectRoot`.
 * A relative path must stay inside the project; a path outside it must be
 * written absolute; a path inside it is judged by its real target (symlinks).
 * Throws a TypeError naming the job, the entry and the rule it breaks.
 */
export function resolvePermissions(
  permissions: JobPermissions,
  projectRoot: string,
  jobName: string,
  options: ResolveOptions = {},
): ResolvedPermissions {
  const fail = (message: string): never => {
    throw new TypeError(`Cannot isolate ${jobName} as ${message}`);
  };
  const optIn = `start the daemon with --allow-unscoped=${jobName} to allow it`;
  if (typeof permissions !== "object" || permissions === null || Array.isArray(permissions)) {
    fail(
      `its permissions must be an object of lists (allow-all is never granted: declare each kind): current value is ${
        show(permissions)
      }`,
    );
  }
  for (const key of Object.keys(permissions)) {
    if (!(PERMISSION_KINDS as readonly string[]).includes(key)) {
      fail(`permissions.${key} is not a permission kind (use ${PERMISSION_KINDS.join(", ")})`);
    }
  }
  const resolved = {} as Record<PermissionKind, ResolvedGrant>;
  for (const kind of PERMISSION_KINDS) {
    const entries: unknown = permissions[kind];
    if (entries === undefined) {
      resolved[kind] = [];
      continue;
    }
    if (entries === UNSCOPED) {
      if (!options.allowUnscoped) {
        fail(
          `permissions.${kind} is "${UNSCOPED}", an unscoped grant: list what it needs, or ${optIn}`,
        );
      }
      resolved[kind] = UNSCOPED;
      continue;
    }
    if (!Array.isArray(entries)) {
      fail(
        `permissions.${kind} must be a list, or "${UNSCOPED}" with the daemon's opt-in: current value is ${
          show(entries)
        }`,
      );
    }
    const out = new Set<string>();
    for (const entry of entries as unknown[]) {
      const where = `permissions.${kind} entry ${show(entry)}`;
      if (typeof entry !== "string" || entry.trim() === "") {
        fail(`${where} must be a non-empty string`);
      }
      const text = entry as string;
      if (text.includes("*")) {
        fail(
          `${where} is a wildcard: list each entry, or declare permissions.${kind} = "${UNSCOPED}" and ${optIn}`,
        );
      }
      if (text.includes(",")) fail(`${where} contains a comma, which Deno would split in two`);
      if (text.includes("\0")) fail(`${where} contains a NUL byte`);
      const value = resolveEntry(kind, text, projectRoot, (rule) => fail(`${where} ${rule}`));
      if (value === "/" && !options.allowUnscoped) {
        fail(
          `${where} is the whole filesystem, an unscoped grant: list narrower paths, or ${optIn}`,
        );
      }
      out.add(value);
    }
    resolved[kind] = [...out];
  }
  return resolved;
}

function resolveEntry(
  kind: PermissionKind,
  entry: string,
  projectRoot: string,
  fail: (rule: string) => never,
): string {
  if (PATH_KINDS.has(kind) || (kind === "run" && entry.includes("/"))) {
    return resolveDeclaredPath(entry, projectRoot, fail);
  }
  if (kind === "net" && !NET_ENTRY.test(entry)) return fail("must be host or host:port");
  if (kind === "env" && !ENV_NAME.test(entry)) return fail("must be a variable name");
  if (kind === "sys" && !SYS_NAME.test(entry)) return fail("must be a Deno sys API name");
  if (kind === "run" && !PROGRAM_NAME.test(entry)) return fail("must be a program name or a path");
  return entry;
}

/** True when `grant` covers `path` (everything, or one of its roots). */
export function grantCovers(grant: ResolvedGrant, path: string): boolean {
  return grant === UNSCOPED || isCoveredBy(path, grant);
}

/** The `--allow-*` arguments; a kind with nothing to grant gets no flag at all. */
export function permissionArgs(
  resolved: ResolvedPermissions,
  loadReads: readonly string[],
): string[] {
  const args: string[] = [];
  for (const kind of PERMISSION_KINDS) {
    const grant = resolved[kind];
    if (grant === UNSCOPED) {
      // The one bare flag: both the job and the daemon opted in.
      args.push(`--allow-${kind}`);
      continue;
    }
    const values = kind === "read" ? [...new Set([...grant, ...loadReads])] : grant;
    for (const value of values) {
      // Load reads come from the module graph, not from the validated declaration.
      if (value === "" || value.includes(",")) {
        throw new TypeError(
          `Cannot grant --allow-${kind} for ${show(value)}: empty or has a comma`,
        );
      }
    }
    // Never `--allow-read=` with an empty value (Deno rejects it; a bare flag would allow all).
    if (values.length > 0) args.push(`--allow-${kind}=${values.join(",")}`);
  }
  return args;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
