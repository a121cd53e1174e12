/** Shared pieces of the Redis tests: a queue on a private server, a memory failed-job log, fixtures. */
import type { FailedJobEntry, FailedJobLogger } from "../../src/drivers/driver.ts";
import type { Redis } from "../../src/drivers/redis/ioredis.ts";
import { RedisQueue } from "../../src/drivers/redis/redis_queue.ts";
import type { RedisQueueOptions } from "../../src/drivers/redis/redis_queue_options.ts";
import type { RedisServer } from "./redis_server.ts";

export { RedisServer } from "./redis_server.ts";

/** Remembers the failed_jobs rows a queue wrote. */
export class MemoryFailedJobs implements FailedJobLogger {
  readonly entries: FailedJobEntry[] = [];
  failNext: Error | undefined;

  log(entry: FailedJobEntry): Promise<void> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      return Promise.reject(error);
    }
    this.entries.push(entry);
    return Promise.resolve();
  }
}

/** A settable clock in milliseconds (starts at a whole second). */
export class TestClock {
  ms: number;

  constructor(seconds = 1_796_312_037) {
    this.ms = seconds * 1000;
  }

  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }

  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }

  readonly now = (): number => this.ms;
}

export async function openQueue(
  server: RedisServer,
  options: Partial<RedisQueueOptions> = {},
): Promise<{ queue: RedisQueue; failed: MemoryFailedJobs }> {
  const failed = new MemoryFailedJobs();
  const queue = await RedisQueue.open({
    endpoint: { port: server.port },
    failedJobLogger: failed,
    ...options,
  });
  return { queue, failed };
}

/** A Laravel fixture file from tests/fixtures/laravel (captured from real Laravel 8.83). */
export async function laravelFixture(name: string): Promise<Record<string, unknown>> {
  const url = new URL(`../fixtures/laravel/${name}`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url));
}

interface FixtureStep {
  step: string;
  redis_commands?: { db: number; inside_lua?: boolean; args: string[] }[];
  redis_after?: { now: number; db0: Record<string, FixtureKey> };
  db_after?: { failed_jobs: { uuid: string; payload: string; queue: string }[] };
}

export interface FixtureKey {
  type: string;
  items?: { raw: string }[];
  members?: { raw: string; score: number }[];
}

export async function fixtureSteps(name: string): Promise<FixtureStep[]> {
  return (await laravelFixture(name)).steps as FixtureStep[];
}

/** The first step whose label starts with `label`. */
export function step(steps: FixtureStep[], label: string): FixtureStep {
  const found = steps.find((s) => s.step.startsWith(label));
  if (!found) throw new Error(`no fixture step "${label}"`);
  return found;
}

/** The args of the commands a step ran, `inside_lua` ones included, by command name. */
export function commands(s: FixtureStep, name: string): string[][] {
  return (s.redis_commands ?? [])
    .filter((c) => c.args[0]?.toLowerCase() === name.toLowerCase())
    .map((c) => c.args);
}

/** Resolves once Redis reports `count` clients blocked (a BLPOP is waiting on the server). */
export async function untilBlocked(raw: Redis, count = 1, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const info = await raw.info("clients");
    const blocked = Number(/blocked_clients:(\d+)/.exec(info)?.[1] ?? -1);
    if (blocked === count) return;
    if (performance.now() > deadline) {
      throw new Error(`expected ${count} blocked client(s), Redis reports ${blocked}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** How many times Redis ran `command` (INFO commandstats). */
export async function commandCalls(raw: Redis, command: string): Promise<number> {
  const info = await raw.info("commandstats");
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

/** Resolves with the first value `read` returns that passes `done`; rejects after `timeoutMs`. */
export async function until<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: last value ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
