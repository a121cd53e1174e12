/** What an isolated job may touch. Each list becomes one `--allow-*` flag; nothing declared = nothing granted. */
export interface JobPermissions {
  /** Paths the job may read, relative to the project root or absolute. */
  readonly read?: readonly string[];
  /** Paths the job may write. */
  readonly write?: readonly string[];
  /** Hosts the job may reach: `host`, `host:port`, `127.0.0.1:6379`. `localhost` is not `127.0.0.1`. */
  readonly net?: readonly string[];
  /** Environment variable names passed to the child (the child's env is otherwise empty). */
  readonly env?: readonly string[];
  /** Programs the job may spawn (absolute paths are safest). */
  readonly run?: readonly string[];
  /** `Deno` system APIs: `hostname`, `osRelease`, `loadavg`, … */
  readonly sys?: readonly string[];
  /** Native libraries for `Deno.dlopen`. */
  readonly ffi?: readonly string[];
}

export const PERMISSION_KINDS = ["read", "write", "net", "env", "run", "sys", "ffi"] as const;
export type PermissionKind = typeof PERMISSION_KINDS[number];
