/**
 * The daemon's isolated executor: one ClassPool of pre-started children per
 * job class (child profile), a daemon-wide cap on the spawn rate, and the
 * `child:*` events. `run` has the signature of `runIsolated`; `close` ends
 * every child and waits for them, so none outlives the daemon.
 */
import type { EventBus } from "../events.ts";
import { decideOutcome } from "./child_outcome.ts";
import {
  type ChildProfile,
  profileKey,
  type ProfileSettings,
  profileSettings,
  resolveProfile,
} from "./child_profile.ts";
import { crashed, runOnChild, shutdownBeforeStart, startFailureOutcome } from "./child_run.ts";
import { ClassPool, type ClassPoolEvents } from "./class_pool.ts";
import {
  checkRequest,
  type IsolatedRunOptions,
  type IsolatedRunRequest,
} from "./isolated_request.ts";
import type { AttemptOutcome } from "./outcome.ts";
import type { ResolvedPoolOptions } from "./pool_options.ts";
import type { SupervisedFacts } from "./pooled_child.ts";
import { SpawnLimiter } from "./spawn_limiter.ts";
import { checkRunOptions } from "./subprocess_executor.ts";

export interface IsolatedPoolOptions {
  /** The project's root (absolute): the children's cwd and the base of relative permission paths. */
  readonly projectRoot: string;
  readonly pool: ResolvedPoolOptions;
  /** Milliseconds from SIGTERM to SIGKILL at a timeout. @default 2000 */
  readonly killGraceMs?: number;
  /** Milliseconds between RSS polls of children with a memory limit. @default 25 */
  readonly rssPollMs?: number;
  /** Receives `child:started`, `child:exited` and `child:start-failed`. */
  readonly events?: EventBus;
}

export class IsolatedPool {
  readonly #pools = new Map<string, ClassPool | Promise<ClassPool>>();
  readonly #limiter: SpawnLimiter;
  readonly #projectRoot: string;
  readonly #killGraceMs: number;
  readonly #rssPollMs: number;
  readonly #o: IsolatedPoolOptions;
  #closed = false;

  constructor(options: IsolatedPoolOptions) {
    this.#o = options;
    const checked = checkRunOptions(options);
    this.#projectRoot = checked.projectRoot;
    this.#killGraceMs = checked.killGraceMs;
    this.#rssPollMs = checked.rssPollMs;
    const rate = options.pool.spawnRate;
    this.#limiter = new SpawnLimiter(rate, Math.max(1, Math.ceil(rate)));
  }

  /** Child processes alive, over all job classes. */
  get children(): number {
    let n = 0;
    for (const pool of this.#pools.values()) if (pool instanceof ClassPool) n += pool.size;
    return n;
  }

  /**
   * Runs one attempt on a child of the request's class (the options'
   * `projectRoot`, `killGraceMs` and `rssPollMs` are the pool's). Throws like
   * `runIsolated` for a bad request; everything a child does is an outcome.
   */
  readonly run = async (
    request: IsolatedRunRequest,
    options: Omit<IsolatedRunOptions, "projectRoot"> = {},
  ): Promise<AttemptOutcome> => {
    checkRequest(request);
    const { signal } = options;
    if (this.#closed || signal?.aborted) return shutdownBeforeStart(request.jobName);
    const settings = profileSettings(options);
    const known = this.#pools.get(profileKey(request, settings));
    let pool: ClassPool;
    try {
      pool = known instanceof ClassPool
        ? known
        : await (known ?? this.#createPool(request, settings));
    } catch (error) {
      if (error instanceof TypeError) throw error; // a bad declaration
      return crashed((error as Error).message);
    }
    let lease = await pool.acquire(signal);
    // A child can die between being handed out and taking the job (its exit is on the way):
    // the job has not started, so it takes another child.
    for (let tries = 0; "child" in lease && lease.child.state !== "idle" && tries < 3; tries++) {
      lease = await pool.acquire(signal);
    }
    if ("aborted" in lease) return shutdownBeforeStart(request.jobName);
    if ("failure" in lease) {
      const { facts, note, startOutput } = lease.failure;
      return startFailureOutcome(request, facts, note, options, startOutput);
    }
    const { outcome, report } = await runOnChild(lease.child, request, options);
    pool.release(lease.child, report);
    return outcome;
  };

  /** Ends every child (idle ones gracefully, busy ones killed) and waits until all have exited. */
  async close(): Promise<void> {
    this.#closed = true;
    const pools = await Promise.allSettled([...this.#pools.values()]);
    await Promise.all(
      pools.map((settled) => settled.status === "fulfilled" ? settled.value.close() : undefined),
    );
  }

  #createPool(request: IsolatedRunRequest, settings: ProfileSettings): Promise<ClassPool> {
    const key = profileKey(request, settings);
    const created = resolveProfile(request, this.#projectRoot, this.#killGraceMs, settings).then(
      (profile) => {
        const pool = new ClassPool(profile, {
          options: this.#o.pool,
          limiter: this.#limiter,
          killGraceMs: this.#killGraceMs,
          rssPollMs: this.#rssPollMs,
          events: this.#eventsFor(profile),
        });
        this.#pools.set(key, pool);
        if (this.#closed) void pool.close();
        return pool;
      },
    );
    this.#pools.set(key, created);
    // A failed resolution (say, a transient `deno info` error) is retried next time.
    created.catch(() => this.#pools.delete(key));
    return created;
  }

  #eventsFor(profile: ChildProfile): ClassPoolEvents {
    const events = this.#o.events;
    const job = profile.jobName;
    return {
      started: (pid, startMs) => events?.emit("child:started", { job, pid, startMs }),
      exited: (pid, jobsRun, reason, status) =>
        events?.emit("child:exited", {
          job,
          pid,
          jobsRun,
          reason,
          code: status.code,
          signal: status.signal,
        }),
      startFailed: (facts, retryInMs) => {
        if (!events?.has("child:start-failed")) return;
        const outcome = startFailure(profile, facts);
        const error = "error" in outcome ? outcome.error : new Error(outcome.kind);
        events.emit("child:start-failed", { job, error, retryInMs });
      },
    };
  }
}

function startFailure(profile: ChildProfile, facts: SupervisedFacts): AttemptOutcome {
  return decideOutcome({
    ...facts,
    duringStart: true,
    jobName: profile.jobName,
    moduleUrl: profile.moduleUrl,
    timeoutMs: 0,
    ...(profile.memoryLimitMb === undefined ? {} : { memoryLimitMb: profile.memoryLimitMb }),
  });
}
