/**
 * Declared paths → the paths granted, judged by where they really point.
 *
 * Deno checks a path as the job writes it, not its real target: with
 * `--allow-read=/app/storage` and `storage` a symlink to `/etc`, the job reads
 * `/etc/passwd` as `storage/passwd`. So a path that is inside the project as
 * written is judged by its real target (every symlink on the way followed,
 * dangling ones included: a write through one creates its target), and
 * refused when that target is outside the project.
 */
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";

/** Linux gives up after 40 links (ELOOP); so do we. */
const MAX_SYMLINK_HOPS = 40;

/**
 * Resolves a declared path against `projectRoot`. A relative path must stay
 * inside the project; an absolute path outside it is taken as declared on
 * purpose. Calls `fail` with the rule broken.
 */
export function resolveDeclaredPath(
  entry: string,
  projectRoot: string,
  fail: (rule: string) => never,
): string {
  const written = isAbsolute(entry)
    ? stripTrailingSeparator(normalize(entry))
    : resolve(projectRoot, entry);
  if (!isInside(written, projectRoot)) {
    if (isAbsolute(entry)) return written;
    return fail(
      `escapes the project root ${projectRoot} (write paths outside it as absolute paths)`,
    );
  }
  let real: string;
  let realRoot: string;
  try {
    realRoot = realPathOrAsWritten(projectRoot);
    real = realTargetInside(join(realRoot, relative(projectRoot, written)), realRoot);
  } catch (error) {
    return fail(`could not be checked for symlinks: ${(error as Error).message}`);
  }
  if (!isInside(real, realRoot)) {
    return fail(
      `is, or passes through, a symlink to ${real}, outside the project: declare ${
        JSON.stringify(real)
      } as an absolute path if the job must reach it`,
    );
  }
  return written;
}

/**
 * The real path of `path` (absolute, under `realRoot` as written): every
 * symlink followed, like `realpath`, but a missing tail is kept as written
 * instead of failing. Only the project is looked at (a daemon may be denied
 * the rest): once the walk leaves it, the rest is joined as written, which is
 * enough to know the target is outside.
 */
export function realTargetInside(path: string, realRoot: string): string {
  const pending = path.split(sep).filter((part) => part !== "");
  let resolved: string = sep;
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === ".") continue;
    const next = part === ".." ? dirname(resolved) : join(resolved, part);
    if (part === ".." || isInside(realRoot, next)) {
      // `..`, or an ancestor of the project root (already real): nothing to follow.
      resolved = next;
      continue;
    }
    if (!isInside(next, realRoot)) return resolve(next, ...pending);
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(next);
    } catch (error) {
      // Nothing there (yet): the rest cannot hide a symlink.
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        return resolve(next, ...pending);
      }
      throw error;
    }
    if (!info.isSymlink) {
      resolved = next;
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) throw new Error(`too many symlinks at ${next}`);
    const target = Deno.readLinkSync(next);
    if (isAbsolute(target)) resolved = sep;
    pending.unshift(...target.split(sep).filter((piece) => piece !== ""));
  }
  return resolved;
}

/** A project root that does not exist has no symlinks to follow. */
function realPathOrAsWritten(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return path;
    throw error;
  }
}

/** True when `path` is one of `roots` or inside one of them. */
export function isCoveredBy(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => isInside(path, root));
}

export function isInside(path: string, root: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot === "" ||
    (!isAbsolute(fromRoot) && fromRoot !== ".." && !fromRoot.startsWith(`..${sep}`));
}

function stripTrailingSeparator(path: string): string {
  return path.length > 1 && path.endsWith(sep) ? path.slice(0, -1) : path;
}
