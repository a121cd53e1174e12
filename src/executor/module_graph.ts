/**
 * The local files Deno must read to load a module: asked of `deno info --json`
 * once per module and cached for the life of the daemon (job code does not
 * change under a running daemon; restart it to pick up new code).
 */
import { fileURLToPath } from "node:url";

/** `file://` URL of the child-side Worker entry (trusted code that imports the job). */
export const JOB_WORKER_URL: string = new URL("./child/job_worker.ts", import.meta.url).href;

const cache = new Map<string, Promise<readonly string[]>>();

/**
 * Absolute paths of the local files Deno reads when it imports `moduleUrl`:
 * its own file and everything it imports statically at runtime (JSON and text
 * imports included; `import type` and dynamic `import()` are not followed, so
 * code the job loads lazily is not granted). Modules that failed to resolve
 * (a missing file, a syntax error) are kept, so that the child's import
 * reports Deno's own error rather than a read denial.
 */
export function localModuleFiles(
  moduleUrl: string,
  projectRoot: string,
): Promise<readonly string[]> {
  // The project's deno.json (import map) shapes resolution, so it is part of the key.
  const key = `${projectRoot}\0${moduleUrl}`;
  let files = cache.get(key);
  if (!files) {
    files = queryModuleGraph(moduleUrl, projectRoot);
    cache.set(key, files);
    // A failed lookup (say, a transient spawn error) is retried next time, not cached.
    files.catch(() => cache.delete(key));
  }
  return files;
}

async function queryModuleGraph(
  moduleUrl: string,
  projectRoot: string,
): Promise<readonly string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", moduleUrl],
    cwd: projectRoot,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr).trim();
  if (!output.success) {
    throw new Error(`deno info ${moduleUrl} exited with code ${output.code}: ${stderr}`);
  }
  return parseGraphFiles(new TextDecoder().decode(output.stdout));
}

interface InfoDependency {
  /** Present for runtime imports; type-only imports carry `type` instead. */
  readonly code?: { readonly specifier?: unknown };
  readonly isDynamic?: boolean;
}

interface InfoModule {
  readonly specifier?: unknown;
  readonly local?: unknown;
  readonly dependencies?: readonly InfoDependency[];
}

interface InfoDocument {
  readonly roots?: readonly string[];
  readonly modules?: readonly InfoModule[];
  readonly redirects?: Readonly<Record<string, string>>;
}

/** The local paths statically reachable from the roots of a `deno info --json` document. */
export function parseGraphFiles(json: string): readonly string[] {
  const info = JSON.parse(json) as InfoDocument;
  const redirects = info.redirects ?? {};
  const bySpecifier = new Map<string, InfoModule>();
  for (const module of info.modules ?? []) {
    if (typeof module.specifier === "string") bySpecifier.set(module.specifier, module);
  }
  const files = new Set<string>();
  const seen = new Set<string>();
  const pending = [...(info.roots ?? [])];
  while (pending.length > 0) {
    const requested = pending.pop()!;
    const specifier = redirects[requested] ?? requested;
    if (seen.has(specifier) || !specifier.startsWith("file://")) continue;
    seen.add(specifier);
    const module = bySpecifier.get(specifier);
    files.add(typeof module?.local === "string" ? module.local : fileURLToPath(specifier));
    for (const dependency of module?.dependencies ?? []) {
      const next = dependency.code?.specifier;
      if (!dependency.isDynamic && typeof next === "string") pending.push(next);
    }
  }
  return [...files].sort();
}
