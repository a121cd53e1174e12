/**
 * Where an enqueue → start wait goes (redis_latency.ts --stages): timestamps
 * (`epochMs`) of the daemon's steps, taken by wrapping, in this process only,
 * the blocking link's `blpop` / `callBuffer` and the driver's `waitForJobs` / `reserve`,
 * plus `job:started`; the producer reports its own (payload built, push
 * resolved). For each job, each step's first mark between its push and its
 * handle() start is taken. Profiling only: the bench's figures never use it.
 */
import type { QueueDriver } from "../../src/mod.ts";
import type { LatencySample } from "../jobs/latency_jobs.ts";
import { epochMs } from "../jobs/latency_jobs.ts";

type Mark = "blpop" | "prefetch" | "wake" | "reserve" | "started";
const ORDER: readonly Mark[] = ["blpop", "prefetch", "wake", "reserve", "started"];

type Method = (this: unknown, ...args: unknown[]) => unknown;

export class StageMarks {
  readonly #marks = new Map<Mark, number[]>(ORDER.map((mark) => [mark, []]));

  /** Wraps the Redis client class and `driver`'s methods. */
  static async install(driver: QueueDriver): Promise<StageMarks> {
    const marks = new StageMarks();
    const { BlockingLink } = await import("../../src/drivers/redis/blocking_link.ts");
    const proto = BlockingLink.prototype as unknown as Record<string, Method>;
    const wrap = (name: string, onReply: (value: unknown) => void) => {
      const original = proto[name]!;
      proto[name] = function (this: unknown, ...args: unknown[]) {
        const reply = original.apply(this, args) as Promise<unknown>;
        reply.then(onReply, () => {});
        return reply;
      };
    };
    wrap("blpop", (value) => value !== null && marks.mark("blpop"));
    wrap("callBuffer", () => marks.mark("prefetch"));
    const wait = driver.waitForJobs.bind(driver);
    driver.waitForJobs = async (...args) => {
      await wait(...args);
      marks.mark("wake");
    };
    const reserve = driver.reserve.bind(driver);
    driver.reserve = async (...args) => {
      const jobs = await reserve(...args);
      if (jobs.length > 0) marks.mark("reserve");
      return jobs;
    };
    return marks;
  }

  mark(name: Mark): void {
    this.#marks.get(name)!.push(epochMs());
  }

  /**
   * Median and p90 (ms) of each step over the counted jobs: build (producer),
   * push → BLPOP answered in the daemon, → prefetched reserve answered,
   * → waitForJobs resolved, → reserve() returned, → job:started, → handle().
   */
  breakdown(
    samples: readonly LatencySample[],
    producer: Record<string, unknown>,
    warmup: number,
  ): Record<string, unknown> {
    const built = producer.builtMs as number[] | undefined;
    const pushed = producer.pushedMs as number[] | undefined;
    const steps = new Map<string, number[]>();
    const add = (step: string, ms: number) => {
      if (!steps.has(step)) steps.set(step, []);
      steps.get(step)!.push(ms);
    };
    const perJob: Record<string, number>[] = [];
    samples.forEach((sample, i) => {
      if (i < warmup) return;
      const row: Record<string, number> = { pushedAt: sample.pushedAt };
      perJob.push(row);
      const builtAt = sample.pushedAt + (built?.[i] ?? 0);
      add("producer: prepareDispatch", builtAt - sample.pushedAt);
      if (pushed) add("producer: push resolved (after its start)", pushed[i]! - (built?.[i] ?? 0));
      let previous = builtAt;
      let previousName = "push sent";
      for (const mark of ORDER) {
        const at = this.#marks.get(mark)!.find((t) =>
          t >= sample.pushedAt && t <= sample.startedAt
        );
        if (at === undefined) continue;
        row[mark] = Number((at - sample.pushedAt).toFixed(3));
        add(`${previousName} → ${mark}`, at - previous);
        previous = at;
        previousName = mark;
      }
      add(`${previousName} → handle()`, sample.startedAt - previous);
      add("total", sample.startedAt - sample.pushedAt);
    });
    const result: Record<string, unknown> = { perJob };
    for (const [step, values] of steps) {
      values.sort((a, b) => a - b);
      const at = (p: number) => Number(values[Math.ceil(p * values.length) - 1]!.toFixed(3));
      result[`${step} (${values.length})`] = { p50: at(0.5), p90: at(0.9) };
    }
    return result;
  }
}
