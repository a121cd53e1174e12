/**
 * Finds job classes in a folder: every exported subclass of KQueueJob in its
 * `.ts`/`.js` files (recursively; `*_test.ts`, `*.test.ts`, `.d.ts` and `_`-prefixed
 * files skipped). A module's top-level code runs here, in the daemon.
 */
import { isJobClass, type JobClass } from "./job.ts";
import { JobRegistry } from "./registry.ts";
import { KQueueJob } from "./job.ts";

const JOB_FILE = /\.(ts|mts|js|mjs)$/;
const SKIPPED = /(_test|\.test)\.(ts|mts|js|mjs)$|\.d\.ts$/;

export async function discoverJobs(
  dir: string,
  registry = new JobRegistry(),
): Promise<JobRegistry> {
  let root: string;
  try {
    root = await Deno.realPath(dir);
  } catch {
    throw new Error(`Cannot load jobs from ${dir}: the folder does not exist (pass --jobs DIR)`);
  }
  for (const file of await listJobFiles(root)) {
    const url = new URL(`file://${file}`).href;
    let module: Record<string, unknown>;
    try {
      module = await import(url);
    } catch (error) {
      throw new Error(`Cannot load jobs from ${file}: ${(error as Error).message.split("\n")[0]}`);
    }
    for (const [exportName, value] of Object.entries(module)) {
      if (isJobClass(value) && definesHandle(value)) {
        registry.register(value, { moduleUrl: url, exportName });
      }
    }
  }
  return registry;
}

/** An exported intermediate base without its own handle() is not a job. */
function definesHandle(Class: JobClass): boolean {
  return typeof Class.prototype.handle === "function" &&
    Class.prototype.handle !== (KQueueJob.prototype as { handle?: unknown }).handle;
}

async function listJobFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(dir)) entries.push(entry);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await listJobFiles(path));
    else if (entry.isFile && JOB_FILE.test(entry.name) && !SKIPPED.test(entry.name)) {
      files.push(path);
    }
  }
  return files;
}
