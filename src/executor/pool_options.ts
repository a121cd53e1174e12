/** The child pool's options (`DaemonOptions.pool`, the `work --pool-*` flags), validated up front. */

export interface PoolOptions {
  /** Warm children kept ready per job class while it is in use (not counting children on their last job). @default 1 */
  readonly min?: number;
  /** Children of one job class at once: starting, idle and busy. @default isolatedConcurrency + 1 */
  readonly max?: number;
  /** Jobs a child runs before it is retired; 1 = a fresh process for every job (the strongest isolation). @default 1 */
  readonly maxJobsPerChild?: number;
  /** MB of child RSS past which a child is retired after its job; 0 = off (a class's `memoryLimit` still caps it at 80 %). @default 0 */
  readonly recycleRss?: number;
  /** Seconds a child may sit idle before it is ended; 0 = never. @default 60 */
  readonly idleTimeout?: number;
  /** Seconds a new child has to load its job class and report ready. @default 20 */
  readonly startTimeout?: number;
  /** Child spawns per second, daemon-wide (a token bucket holding one second's worth). @default 20 × CPUs */
  readonly spawnRate?: number;
  /** Seconds between health checks of an idle child (a ping through its Worker); 0 = off. @default 10 */
  readonly healthCheckInterval?: number;
}

export type ResolvedPoolOptions = { readonly [K in keyof PoolOptions]-?: number };

/** Fills defaults and checks every field; throws a RangeError naming the first bad one. */
export function resolvePoolOptions(
  options: PoolOptions | undefined,
  isolatedConcurrency: number,
): ResolvedPoolOptions {
  const given = Object.fromEntries(
    Object.entries(options ?? {}).filter(([, value]) => value !== undefined),
  ) as PoolOptions;
  const resolved: ResolvedPoolOptions = {
    min: 1,
    max: isolatedConcurrency + 1,
    maxJobsPerChild: 1,
    recycleRss: 0,
    idleTimeout: 60,
    startTimeout: 20,
    spawnRate: 20 * Math.max(1, navigator.hardwareConcurrency || 2),
    healthCheckInterval: 10,
    ...given,
  };
  integer("min", resolved.min, 0);
  integer("max", resolved.max, 1);
  integer("maxJobsPerChild", resolved.maxJobsPerChild, 1);
  number("recycleRss", resolved.recycleRss, false);
  number("idleTimeout", resolved.idleTimeout, false);
  number("startTimeout", resolved.startTimeout, true);
  number("spawnRate", resolved.spawnRate, true);
  number("healthCheckInterval", resolved.healthCheckInterval, false);
  if (resolved.min > resolved.max) {
    throw new RangeError(
      `Cannot start worker as 'pool.min' (${resolved.min}) must not exceed 'pool.max' (${resolved.max})`,
    );
  }
  return resolved;
}

function integer(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    const kind = min === 0 ? "a non-negative integer" : "a positive integer";
    throw new RangeError(
      `Cannot start worker as 'pool.${name}' must be ${kind}: current value is ${value}`,
    );
  }
}

function number(name: string, value: number, positive: boolean): void {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 || (positive && value === 0)
  ) {
    const kind = positive ? "a positive number" : "a non-negative number";
    throw new RangeError(
      `Cannot start worker as 'pool.${name}' must be ${kind}: current value is ${value}`,
    );
  }
}
