/** Shared setup for the pool tests: a pool on this repo with recorded child events. */
import { EventBus, type KQueueEvents } from "../src/events.ts";
import { IsolatedPool } from "../src/executor/isolated_pool.ts";
import type { IsolatedRunRequest } from "../src/executor/isolated_request.ts";
import type { AttemptOutcome } from "../src/executor/outcome.ts";
import { type PoolOptions, resolvePoolOptions } from "../src/executor/pool_options.ts";
import { serializeJobCommand } from "../src/payload/php_serialize.ts";
import { jobRequest, PROJECT_ROOT } from "./isolated_helpers.ts";

export type ChildEvent =
  | { type: "started"; event: KQueueEvents["child:started"] }
  | { type: "exited"; event: KQueueEvents["child:exited"] }
  | { type: "start-failed"; event: KQueueEvents["child:start-failed"] };

export class RecordedPool {
  readonly pool: IsolatedPool;
  readonly events: ChildEvent[] = [];
  #waiters: Array<() => void> = [];

  constructor(options: PoolOptions = {}, isolatedConcurrency = 2) {
    const bus = new EventBus();
    const record = (entry: ChildEvent) => {
      this.events.push(entry);
      for (const wake of this.#waiters.splice(0)) wake();
    };
    bus.on("child:started", (event) => record({ type: "started", event }));
    bus.on("child:exited", (event) => record({ type: "exited", event }));
    bus.on("child:start-failed", (event) => record({ type: "start-failed", event }));
    this.pool = new IsolatedPool({
      projectRoot: PROJECT_ROOT,
      pool: resolvePoolOptions(options, isolatedConcurrency),
      killGraceMs: 300,
      events: bus,
    });
  }

  /** Runs `request`, returning the outcome, the pid that ran it and its output. */
  async run(request: IsolatedRunRequest, signal?: AbortSignal) {
    let pid: number | undefined;
    const stdout: string[] = [];
    const stderr: string[] = [];
    const outcome: AttemptOutcome = await this.pool.run(request, {
      ...(signal ? { signal } : {}),
      onSpawn: (childPid) => pid = childPid,
      onOutput: (stream, line) => (stream === "stdout" ? stdout : stderr).push(line),
    });
    return { outcome, pid, stdout, stderr };
  }

  started(): number[] {
    return this.events.flatMap((e) => e.type === "started" ? [e.event.pid] : []);
  }

  exited(): KQueueEvents["child:exited"][] {
    return this.events.flatMap((e) => e.type === "exited" ? [e.event] : []);
  }

  startFailures(): number {
    return this.events.filter((e) => e.type === "start-failed").length;
  }

  /** Resolves once `check` holds over the events seen; rejects after `limitMs`. */
  async until(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
    const deadline = performance.now() + limitMs;
    while (!check()) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.events)}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 20));
      });
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** A PoolProbeJob request running `mode` (see fixtures/isolated_jobs/pool_jobs.ts). */
export function probe(mode: string, overrides: Partial<IsolatedRunRequest> = {}) {
  return jobRequest("pool_jobs.ts", "PoolProbeJob", {
    command: serializeJobCommand("PoolProbeJob", { mode }),
    ...overrides,
  });
}
