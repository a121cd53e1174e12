/**
 * Payload fuzzing, shared by the decoder fuzz and the daemon fuzz: a seeded
 * generator of random and mutated queue payloads, from the captured Laravel
 * fixtures and from KQueue's own dispatches. What must happen to each one is
 * payload_oracle.ts's.
 */
import { prepareDispatch } from "../../src/dispatch.ts";
import { CALL_QUEUED_HANDLER } from "../../src/payload/laravel_payload.ts";
import { walkFixtures } from "../_php_helpers.ts";
import { FuzzIsolated, FuzzRecord } from "../fixtures/fuzz_jobs/fuzz_jobs.ts";

/** Fixed by default so CI is repeatable; set KQUEUE_FUZZ_SEED to explore. */
export const FUZZ_SEED = Number(Deno.env.get("KQUEUE_FUZZ_SEED") ?? 0x5eed_4);

export interface FuzzCase {
  readonly text: string;
  /** How it was made, for failure messages. */
  readonly origin: string;
}

/** mulberry32: small, seeded, good enough for fuzzing. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Every job payload text in the captured Laravel fixtures. */
export function fixturePayloads(): string[] {
  const found = new Set<string>();
  walkFixtures((value) => {
    if (typeof value !== "string" || !value.startsWith("{") || !value.includes('"job"')) return;
    try {
      const parsed = JSON.parse(value);
      if (parsed && typeof parsed === "object" && typeof parsed.job === "string") found.add(value);
    } catch {
      // Not a payload.
    }
  });
  return [...found].sort();
}

const TOP_KEYS = [
  "uuid",
  "displayName",
  "job",
  "maxTries",
  "maxExceptions",
  "failOnTimeout",
  "backoff",
  "timeout",
  "retryUntil",
  "data",
  "delay",
  "timeoutAt",
  "attempts",
  "id",
  "extra",
];
const COMMAND_TOKENS = [
  "N;",
  "b:1;",
  "i:7;",
  "d:0.5;",
  's:3:"abc";',
  "a:0:{}",
  "r:1;",
  "R:1;",
  'E:7:"X:Y";',
  'C:3:"Foo":0:{}',
  "}",
  "{",
  ";",
  ":",
  '"',
  "\0*\0",
];
const CHARS = [
  '"',
  "\\",
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
  "0",
  "9",
  "-",
  "e",
  "\0",
  "é",
  "😀",
  "\ud800",
  " ",
  "\n",
  "x",
];

export class PayloadFuzzer {
  readonly #random: () => number;
  readonly #fixtures: readonly string[];

  constructor(seed: number) {
    this.#random = prng(seed);
    this.#fixtures = fixturePayloads();
  }

  /** `count` cases; about `isolatedShare` of them are isolated-job payloads (children are slow). */
  cases(count: number, isolatedShare = 0.004): FuzzCase[] {
    const out: FuzzCase[] = [];
    for (let i = 0; i < count; i++) out.push(this.one(i, isolatedShare));
    return out;
  }

  one(i: number, isolatedShare = 0.004): FuzzCase {
    const roll = this.#random();
    const isolated = this.#random() < isolatedShare;
    const base = isolated ? this.#dispatch(FuzzIsolated) : this.#base();
    if (roll < 0.3) return { text: base.text, origin: `${base.origin} #${i}` };
    if (roll < 0.65) return this.#structural(base, i);
    if (roll < 0.92) return this.#textual(base, i);
    return this.#junk(i);
  }

  #int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)]!;
  }

  #string(max = 12): string {
    return Array.from({ length: this.#int(max) }, () => this.#pick(CHARS)).join("");
  }

  #base(): FuzzCase {
    if (this.#random() < 0.35) {
      const text = this.#pick(this.#fixtures);
      const parsed = JSON.parse(text);
      parsed.uuid = crypto.randomUUID(); // one failed_jobs row per case
      return { text: JSON.stringify(parsed), origin: "fixture" };
    }
    return this.#dispatch(FuzzRecord);
  }

  #dispatch(Class: typeof FuzzRecord | typeof FuzzIsolated): FuzzCase {
    // Dispatch refuses lone surrogates (PHP strings are bytes): data strings are well formed.
    const text = (max: number) => this.#string(max).toWellFormed();
    const data: Record<string, unknown> = { n: this.#weirdNumber(), label: text(20) };
    if (Class === FuzzRecord) {
      data.flag = this.#random() < 0.5;
      data.tags = Array.from({ length: this.#int(4) }, () => text(6));
      data.meta = { a: text(5), b: [this.#int(100), { c: this.#random() < 0.5 }] };
    }
    return { text: prepareDispatch(Class, data).payload, origin: Class.name };
  }

  #weirdNumber(): number {
    return this.#pick([0, 1, -1, 42, 1.5, 2 ** 53, -(2 ** 31), 1e-7, 123456789]);
  }

  #weird(): unknown {
    return this.#pick<() => unknown>([
      () => null,
      () => true,
      () => false,
      () => 0,
      () => -1,
      () => 2.5,
      () => 1e300,
      () => "",
      () => "x",
      () => "3",
      () => "1,2,x",
      () => " 7 ",
      () => [],
      () => [1, "a"],
      () => ({}),
      () => ({ a: { b: [1] } }),
      () => this.#string(30),
      () => "y".repeat(10_000),
    ])();
  }

  #structural(base: FuzzCase, i: number): FuzzCase {
    const p = JSON.parse(base.text) as Record<string, unknown>;
    const steps: string[] = [];
    for (let n = 1 + this.#int(3); n > 0; n--) {
      const what = this.#int(7);
      const key = this.#pick(TOP_KEYS);
      const data = (typeof p.data === "object" && p.data !== null ? p.data : {}) as Record<
        string,
        unknown
      >;
      if (what === 0) {
        delete p[key];
        steps.push(`-${key}`);
      } else if (what === 1 && key !== "uuid") {
        p[key] = this.#weird();
        steps.push(`${key}=?`);
      } else if (what === 2) {
        delete data[this.#pick(["command", "commandName"])];
        p.data = data;
        steps.push("-data.x");
      } else if (what === 3) {
        data.commandName = this.#pick([
          "FuzzRecord",
          "FuzzIsolated",
          "App\\Jobs\\SendEmail",
          "App\\Jobs\\Nope",
          "",
          "FuzzRecord\0",
        ]);
        p.data = data;
        steps.push("commandName=?");
      } else if (what === 4 && typeof data.command === "string") {
        data.command = this.#mutateCommand(data.command);
        p.data = data;
        steps.push("command~");
      } else if (what === 5) {
        p.data = this.#weird();
        steps.push("data=?");
      } else if (what === 6 && this.#random() < 0.006) {
        // Deep nesting (past PHP's json_decode depth) or past the size cap.
        if (this.#random() < 0.5) p.extra = JSON.parse("[".repeat(600) + "]".repeat(600));
        else p.extra = "z".repeat(8 * 1024 * 1024 + 10);
        steps.push("extra=huge");
      }
    }
    return { text: JSON.stringify(p), origin: `${base.origin} ${steps.join(" ")} #${i}` };
  }

  #mutateCommand(command: string): string {
    const at = this.#int(command.length + 1);
    switch (this.#int(7)) {
      case 0:
        return command.slice(0, at);
      case 1:
        return command.slice(0, at) + this.#pick(COMMAND_TOKENS) + command.slice(at);
      case 2:
        return command.slice(0, at) + this.#pick(CHARS) + command.slice(at + 1);
      case 3:
        return command.replace(
          /^O:\d+:"[^"]*"/,
          this.#pick([
            'O:9:"FuzzRecord"',
            'O:12:"FuzzIsolated"',
            'O:4:"Nope"',
            'O:99:"FuzzRecord"',
          ]),
        );
      case 4:
        return command.replace(/s:(\d+):/, (_, n) => `s:${Number(n) + this.#pick([-1, 1, 1000])}:`);
      case 5:
        return this.#pick([
          "not php",
          "eyJpdiI6IkFCQ0RFRkdISUpLTE1OT1AifQ==",
          "",
          "a:0:{}",
          'O:8:"stdClass":0:{}',
        ]);
      default:
        return command.replace(/i:(-?\d+);/, `s:1:"1";`);
    }
  }

  #textual(base: FuzzCase, i: number): FuzzCase {
    let text = base.text;
    const kind = this.#int(6);
    const at = this.#int(text.length);
    if (kind === 0) text = text.slice(0, at);
    else if (kind === 1) text = text.slice(0, at) + this.#pick(CHARS) + text.slice(at + 1);
    else if (kind === 2) text = text.slice(0, at) + text.slice(at + 1 + this.#int(40));
    else if (kind === 3) text = text.slice(0, at) + this.#string(8) + text.slice(at);
    else if (kind === 4) text = text.slice(0, at) + this.#base().text.slice(this.#int(200));
    else text = this.#pick(["\uFEFF", " ", "[", '{"a":1}']) + text;
    return { text, origin: `${base.origin} text#${kind} #${i}` };
  }

  #junk(i: number): FuzzCase {
    const text = this.#pick<() => string>([
      () => "",
      () => "null",
      () => "42",
      () => "[]",
      () => '"string"',
      () => "{}",
      () => this.#string(40),
      () => '{"job":' + JSON.stringify(CALL_QUEUED_HANDLER) + "}",
      () => '{"job":"App\\\\Jobs\\\\Legacy@handle","data":[]}',
      () => "[".repeat(700),
    ])();
    return { text, origin: `junk #${i}` };
  }
}
