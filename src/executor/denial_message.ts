/**
 * Rewrites Deno's permission errors for people: which job, what it touched,
 * and which `permissions` list would allow it, with Deno's own words kept.
 */
import { PermissionDeniedError, type SerializedError } from "../errors.ts";

/** A Deno permission refusal (or the OS's own, under `--child-user`) found in an error or its causes. */
export interface Denial {
  /** `read`, `write`, `net`, `env`, `run`, `ffi`, `sys`, `import`, or `os` (EACCES/EPERM). */
  readonly kind: string;
  /** What was touched, when Deno names it (`toObject()` on env names nothing). */
  readonly target?: string;
  /** Deno's sentence: `Requires read access to "/etc/passwd", run again with the --allow-read flag`. */
  readonly denoMessage: string;
  /** The error that carried it. */
  readonly source: SerializedError;
}

// NotCapable errors and loader refusals (TypeError) both use this sentence.
const REQUIRES =
  /Requires (read|write|net|env|run|ffi|sys|import) access(?: to "((?:[^"\\]|\\.)*)")?[^\n]*/;
// Children run with --cached-only: a module that is not already local is refused like a permission.
const NOT_CACHED =
  /(?:Specifier|npm package) not found in cache: "((?:[^"\\]|\\.)*)", --cached-only is specified\./;
// Deno's PermissionDenied: `Permission denied (os error 13): readfile '/srv/secret'`.
const OS_DENIED =
  /^(?:Permission denied|Operation not permitted) \(os error \d+\)(?:: \w+ '([^']*)')?/;

/** The first Deno permission refusal in `error`'s cause chain, if any. */
export function findDenial(error: SerializedError): Denial | undefined {
  let current: SerializedError | undefined = error;
  for (let depth = 0; current && depth < 6; depth++, current = current.cause) {
    const match = REQUIRES.exec(current.message);
    if (match) {
      const denial: Denial = { kind: match[1]!, denoMessage: match[0], source: current };
      return match[2] === undefined ? denial : { ...denial, target: match[2] };
    }
    const notCached = NOT_CACHED.exec(current.message);
    if (notCached) {
      return { kind: "import", target: notCached[1]!, denoMessage: notCached[0], source: current };
    }
    if (current.name === "NotCapable") {
      return { kind: "unknown", denoMessage: current.message, source: current };
    }
    const os = current.name === "PermissionDenied" ? OS_DENIED.exec(current.message) : null;
    if (os) {
      const denial: Denial = { kind: "os", denoMessage: current.message, source: current };
      return os[1] === undefined ? denial : { ...denial, target: os[1] };
    }
  }
  return undefined;
}

/** Builds the PermissionDeniedError for `denial`, keeping the job's stack frames. */
export function permissionDeniedError(jobName: string, denial: Denial): PermissionDeniedError {
  const error = new PermissionDeniedError(
    `${jobName} may not ${describeAccess(denial)}: ${
      describeFix(denial)
    } (Deno: ${denial.denoMessage})`,
  );
  const frames = denial.source.stack?.split("\n").filter((line) => /^\s+at /.test(line));
  if (frames && frames.length > 0) {
    error.stack = `${error.name}: ${error.message}\n${frames.join("\n")}`;
  }
  return error;
}

function describeAccess({ kind, target }: Denial): string {
  const quoted = target === undefined ? undefined : `"${target}"`;
  switch (kind) {
    case "read":
    case "write":
    case "run":
      return `${kind} ${quoted ?? "that"}`;
    case "net":
      return `connect to ${quoted ?? "the network"}`;
    case "env":
      return quoted ? `read the environment variable ${quoted}` : "read the whole environment";
    case "ffi":
      return `load the native library ${quoted ?? ""}`.trimEnd();
    case "sys":
      return `call the system API ${quoted ?? ""}`.trimEnd();
    case "import":
      return `import from ${quoted ?? "a remote host"}`;
    case "os":
      return `access ${quoted ?? "that"}`;
    default:
      return "do that";
  }
}

function describeFix({ kind, target }: Denial): string {
  switch (kind) {
    case "env":
      return target === undefined
        ? "declare each variable it needs in permissions.env (reading them all is never granted)"
        : "add it to permissions.env";
    case "net":
      return isLoopbackName(target)
        ? "add it to permissions.net (Deno treats localhost and 127.0.0.1 as different hosts)"
        : "add it to permissions.net";
    case "import":
      return "isolated jobs load only local modules and cached npm packages";
    case "unknown":
      return "declare it in the job's permissions";
    case "os":
      return "the operating system refused it (the child's user lacks access: see the file's owner and mode, and --child-user)";
    default:
      return `add it to permissions.${kind}`;
  }
}

function isLoopbackName(target: string | undefined): boolean {
  const host = target?.replace(/:\d+$/, "");
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}
