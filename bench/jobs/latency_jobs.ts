/**
 * The latency scenario's job: it carries its push time and records, when it
 * starts, how long it waited. A separate file, so the isolated children that
 * load bench_jobs.ts never load it.
 */
import { KQueueJob } from "../../src/mod.ts";

/** Where the samples go: a global, so they are found whatever URL this module was loaded by. */
const SAMPLES = Symbol.for("kqueue.bench.latencySamples");

/** Wall-clock milliseconds with sub-ms precision, comparable across processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One BenchLatency job run in this process: its push time and its handle() start (`epochMs`). */
export interface LatencySample {
  readonly pushedAt: number;
  readonly startedAt: number;
}

/** The BenchLatency jobs run in this process, in the order run. */
export function latencySamples(): LatencySample[] {
  const store = globalThis as unknown as Record<symbol, LatencySample[] | undefined>;
  return store[SAMPLES] ??= [];
}

/** Does nothing but record its enqueue → start latency, inline on the daemon's event loop. */
export class BenchLatency extends KQueueJob {
  /** `epochMs()` when the producer dispatched it. */
  pushedAt = 0;

  override handle(): void {
    latencySamples().push({ pushedAt: this.pushedAt, startedAt: epochMs() });
  }
}
