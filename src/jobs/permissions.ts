/**
 * What an isolated job may touch. Each list becomes one `--allow-*` flag;
 * nothing declared = nothing granted. `"all"` (an unscoped grant) is refused
 * unless the daemon also opts in for this job (`--allow-unscoped=JobName`).
 */
export interface JobPermissions {
  /** Paths the job may read, relative to the project root or absolute. */
  readonly read?: PermissionList;
  /** Paths the job may write. */
  readonly write?: PermissionList;
  /** Hosts the job may reach: `host`, `host:port`, `127.0.0.1:6379`. `localhost` is not `127.0.0.1`. */
  readonly net?: PermissionList;
  /** Environment variable names passed to the child (the child's env is otherwise empty). */
  readonly env?: PermissionList;
  /** Programs the job may spawn (absolute paths are safest; a spawned program is not sandboxed). */
  readonly run?: PermissionList;
  /** `Deno` system APIs: `hostname`, `osRelease`, `loadavg`, … */
  readonly sys?: PermissionList;
  /** Native libraries for `Deno.dlopen`. */
  readonly ffi?: PermissionList;
}

/** A list of entries, or `"all"`: the unscoped grant, which needs the daemon's opt-in too. */
export type PermissionList = readonly string[] | "all";

/** The value of a kind that grants everything of that kind. */
export const UNSCOPED = "all";

export const PERMISSION_KINDS = ["read", "write", "net", "env", "run", "sys", "ffi"] as const;
export type PermissionKind = typeof PERMISSION_KINDS[number];
