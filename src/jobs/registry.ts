/**
 * Maps names to job classes. A payload can only name a registered job; the
 * module a job is loaded from comes from here, never from a payload.
 */
import { isJobClass, type JobClass } from "./job.ts";
import { type JobConfig, readJobConfig } from "./job_config.ts";

export interface RegisteredJob {
  /** The name payloads use (`data.commandName` / `displayName`). */
  readonly name: string;
  readonly Class: JobClass;
  /** The class's config, read from a fresh instance at registration. */
  readonly config: JobConfig;
  /** Where the class lives (needed to run it isolated). */
  readonly moduleUrl?: string;
  /** Which export of `moduleUrl` holds it. */
  readonly exportName?: string;
}

export interface RegisterOptions {
  /** `import.meta.url` of the module exporting the class; required for isolated jobs. */
  readonly moduleUrl?: string;
  /** The export name. @default the class name */
  readonly exportName?: string;
}

/** The name a class registers and dispatches under: its `laravel` class if set, else its own name. */
export function jobNameOf(Class: JobClass): string {
  return Class.laravel ?? Class.name;
}

export class JobRegistry {
  #byName = new Map<string, RegisteredJob>();

  register(Class: JobClass, options: RegisterOptions = {}): RegisteredJob {
    if (!isJobClass(Class)) {
      throw new TypeError(`Cannot register ${String(Class)}: it does not extend KQueueJob`);
    }
    const name = jobNameOf(Class);
    const config = readJobConfig(new Class(), name);
    if (config.isolated && !options.moduleUrl) {
      throw new TypeError(
        `Cannot register ${name} as it is isolated but has no module URL: pass { moduleUrl: import.meta.url } or put it in the jobs folder`,
      );
    }
    const entry: RegisteredJob = {
      name,
      Class,
      config,
      ...(options.moduleUrl ? { moduleUrl: options.moduleUrl } : {}),
      ...(options.moduleUrl ? { exportName: options.exportName ?? Class.name } : {}),
    };
    for (const key of new Set([name, Class.name])) {
      const existing = this.#byName.get(key);
      if (existing && existing.Class !== Class) {
        throw new TypeError(
          `Cannot register ${key} twice: ${existing.moduleUrl ?? "code"} and ${
            options.moduleUrl ?? "code"
          } both export it`,
        );
      }
      this.#byName.set(key, entry);
    }
    return entry;
  }

  get(name: string): RegisteredJob | undefined {
    return this.#byName.get(name);
  }

  /** Distinct registered jobs. */
  list(): RegisteredJob[] {
    return [...new Set(this.#byName.values())];
  }

  get size(): number {
    return this.list().length;
  }
}
