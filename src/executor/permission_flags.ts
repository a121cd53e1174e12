/**
 * A job's declared permissions → the exact `--allow-*` arguments of its child.
 *
 * Every entry is checked, because a wrong one fails open: Deno reads a bare
 * `--allow-read` as "everything", and commas split one entry into two.
 */
import { isAbsolute, normalize, relative, resolve, sep } from "node:path";
import { type JobPermissions, PERMISSION_KINDS, type PermissionKind } from "../jobs/permissions.ts";

/** Declared permissions with every path absolute and every entry validated. */
export type ResolvedPermissions = { readonly [K in PermissionKind]: readonly string[] };

const PATH_KINDS: ReadonlySet<PermissionKind> = new Set(["read", "write", "ffi"]);
const NET_ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SYS_NAME = /^[A-Za-z]+$/;
const PROGRAM_NAME = /^[A-Za-z0-9._+-]+$/;

/**
 * Validates `permissions` and resolves its paths against `projectRoot`.
 * A relative path must stay inside the project; a path outside it must be written absolute.
 * Throws a TypeError naming the job, the entry and the rule it breaks.
 */
export function resolvePermissions(
  permissions: JobPermissions,
  projectRoot: string,
  jobName: string,
): ResolvedPermissions {
  const fail = (message: string): never => {
    throw new TypeError(`Cannot isolate ${jobName} as ${message}`);
  };
  if (typeof permissions !== "object" || permissions === null || Array.isArray(permissions)) {
    fail(`its permissions must be an object of lists: current value is ${show(permissions)}`);
  }
  for (const key of Object.keys(permissions)) {
    if (!(PERMISSION_KINDS as readonly string[]).includes(key)) {
      fail(`permissions.${key} is not a permission kind (use ${PERMISSION_KINDS.join(", ")})`);
    }
  }
  const resolved = {} as Record<PermissionKind, string[]>;
  for (const kind of PERMISSION_KINDS) {
    const entries: unknown = permissions[kind];
    if (entries === undefined) {
      resolved[kind] = [];
      continue;
    }
    if (!Array.isArray(entries)) {
      fail(
        `permissions.${kind} must be a list (allow-all is refused): current value is ${
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
      if (text === "*" || text.includes("*")) fail(`${where} is a wildcard (allow-all is refused)`);
      if (text.includes(",")) fail(`${where} contains a comma, which Deno would split in two`);
      if (text.includes("\0")) fail(`${where} contains a NUL byte`);
      out.add(resolveEntry(kind, text, projectRoot, (rule) => fail(`${where} ${rule}`)));
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
    return resolvePath(entry, projectRoot, fail);
  }
  if (kind === "net" && !NET_ENTRY.test(entry)) return fail("must be host or host:port");
  if (kind === "env" && !ENV_NAME.test(entry)) return fail("must be a variable name");
  if (kind === "sys" && !SYS_NAME.test(entry)) return fail("must be a Deno sys API name");
  if (kind === "run" && !PROGRAM_NAME.test(entry)) return fail("must be a program name or a path");
  return entry;
}

function resolvePath(entry: string, projectRoot: string, fail: (rule: string) => never): string {
  if (isAbsolute(entry)) return stripTrailingSeparator(normalize(entry));
  const resolved = resolve(projectRoot, entry);
  if (!isInside(resolved, projectRoot)) {
    return fail(
      `escapes the project root ${projectRoot} (write paths outside it as absolute paths)`,
    );
  }
  return resolved;
}

/** The `--allow-*` arguments; a kind with nothing to grant gets no flag at all. */
export function permissionArgs(
  resolved: ResolvedPermissions,
  loadReads: readonly string[],
): string[] {
  const args: string[] = [];
  for (const kind of PERMISSION_KINDS) {
    const values = kind === "read"
      ? [...new Set([...resolved.read, ...loadReads])]
      : resolved[kind];
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

/** True when `path` is one of `roots` or inside one of them. */
export function isCoveredBy(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => isInside(path, root));
}

function isInside(path: string, root: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot === "" ||
    (!isAbsolute(fromRoot) && fromRoot !== ".." && !fromRoot.startsWith(`..${sep}`));
}

function stripTrailingSeparator(path: string): string {
  return path.length > 1 && path.endsWith(sep) ? path.slice(0, -1) : path;
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
