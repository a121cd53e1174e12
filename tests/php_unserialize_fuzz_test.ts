/**
 * Fuzzes the unserializer with inputs mutated from the fixtures' real
 * commands, plus random token soup. Whatever the input, it must return a value
 * or throw a PayloadError; a value it returns must serialize back stably.
 * Set KQUEUE_FUZZ_SEED to replay a run.
 */
import assert from "node:assert/strict";
import { PayloadError } from "../src/errors.ts";
import { PhpObject, type PhpValue, serializePhp } from "../src/payload/php_serialize.ts";
import { type UnserializeLimits, unserializePhp } from "../src/payload/php_unserialize.ts";
import { fixtureCommands, phpTest, runPhp } from "./_php_helpers.ts";

const SEED = Number(Deno.env.get("KQUEUE_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32));

/** mulberry32: small, seeded, good enough for fuzzing. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

// Grammar bytes, look-alikes, multi-byte characters, NUL and a lone surrogate.
const ALPHABET = [
  ...'NbidsaOCErRS:;{}"-+.eE0123456789xI\\*',
  "\0",
  "é",
  "✓",
  "😀",
  "\ud800",
  "\uFEFF",
];
const TOKENS = [
  "N;",
  "b:1;",
  "i:",
  "d:",
  "s:",
  "a:",
  "O:",
  ":",
  ";",
  "{",
  "}",
  '"',
  "0",
  "1",
  "9",
  "-",
  "r:1;",
  "E:",
  "\0*\0",
];
const NUMBERS = [
  "0",
  "1",
  "-1",
  "00",
  "+1",
  "999999999999999",
  "9223372036854775808",
  "18446744073709551616",
  "1e5",
  "",
];

const KEYS = [
  "",
  "a",
  "0",
  "1",
  "7",
  "-3",
  "05",
  "__proto__",
  "constructor",
  "ü✓",
  "😀",
  "\0",
  "x y",
];
const CLASSES = ["stdClass", "App\\Jobs\\SendEmail", "A", "Ünï\\Code"];

/** A random value PHP can hold, so its text must read back. */
function randomValue(depth = 0): PhpValue {
  switch (int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return random() < 0.5 ? int(100) - 50 : Math.floor((random() - 0.5) * 2 ** 54);
    case 3:
      return BigInt.asIntN(64, BigInt(Math.floor(random() * 2 ** 53)) * 2n ** 11n);
    case 4:
      return pick([0.5, -0, NaN, Infinity, 1e300, 5e-324, (random() - 0.5) * 10 ** (int(40) - 20)]);
    case 5:
      return Array.from({ length: int(6) }, () => pick(ALPHABET.filter((c) => c !== "\ud800")))
        .join("");
    case 6:
      return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    case 7: {
      const record: Record<string, PhpValue> = {};
      for (let n = int(4); n > 0; n--) {
        Object.defineProperty(record, pick(KEYS), {
          value: randomValue(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return record;
    }
    default: {
      const properties: Record<string, PhpValue> = {};
      const visibility: Record<string, "public" | "protected" | "private"> = {};
      const declaringClass: Record<string, string> = {};
      for (let n = int(4); n > 0; n--) {
        const name = pick(KEYS.filter((k) => !k.startsWith("\0") && k !== "__proto__"));
        properties[name] = randomValue(depth + 1);
        visibility[name] = name === ""
          ? "public"
          : pick(["public", "protected", "private"] as const);
        if (random() < 0.3) declaringClass[name] = pick(CLASSES);
      }
      return new PhpObject(pick(CLASSES), properties, visibility, declaringClass);
    }
  }
}

function seedCorpus(): string[] {
  const made = [
    serializePhp([0.1, 1e25, -0, NaN, Infinity, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n]),
    serializePhp({ "5": "five", b: [1, [2, { c: "ü✓😀" }]], "-3": null, "": true }),
    serializePhp(
      new PhpObject("A\\B", { p: 1, q: [new PhpObject("C", { r: "s" }, { r: "private" })] }, {
        q: "protected",
      }),
    ),
  ];
  const generated = Array.from({ length: 300 }, () => serializePhp(randomValue()));
  return [...fixtureCommands(), ...made, ...generated];
}

function mutate(input: string, corpus: string[]): string {
  let s = input;
  for (let n = 1 + int(4); n > 0; n--) {
    const at = int(s.length + 1);
    switch (int(8)) {
      case 0: // replace one character
        s = s.slice(0, at) + pick(ALPHABET) + s.slice(at + 1);
        break;
      case 1: // insert one character
        s = s.slice(0, at) + pick(ALPHABET) + s.slice(at);
        break;
      case 2: // delete a run
        s = s.slice(0, at) + s.slice(at + 1 + int(8));
        break;
      case 3: // truncate
        s = s.slice(0, at);
        break;
      case 4: // duplicate a slice in place
        s = s.slice(0, at) + s.slice(at, at + int(40)) + s.slice(at);
        break;
      case 5: { // rewrite a number: lengths and counts are where strict readers break
        const digits = [...s.matchAll(/-?\d+/g)];
        if (digits.length === 0) break;
        const m = pick(digits);
        s = s.slice(0, m.index) + pick(NUMBERS) + s.slice(m.index! + m[0].length);
        break;
      }
      case 6: // splice the head of this one onto the tail of another
        s = s.slice(0, at) + pick(corpus).slice(int(200));
        break;
      default: { // swap a type tag for another
        const tags = [...s.matchAll(/[NbidsaO](?=[:;])/g)];
        if (tags.length === 0) break;
        const m = pick(tags);
        s = s.slice(0, m.index) + pick([..."NbidsaOCErRS"]) + s.slice(m.index! + 1);
      }
    }
  }
  return s;
}

function tokenSoup(): string {
  let s = "";
  for (let n = int(30); n > 0; n--) s += random() < 0.7 ? pick(TOKENS) : pick(ALPHABET);
  return s;
}

/** The only acceptable outcomes: a value that re-serializes stably, or a PayloadError. */
function check(input: string, limits?: UnserializeLimits): "value" | "error" {
  let value;
  try {
    value = unserializePhp(input, limits);
  } catch (error) {
    if (error instanceof PayloadError) return "error";
    assert.fail(`seed ${SEED}: ${JSON.stringify(input)} threw ${error}`);
  }
  // JS reorders integer keys, so compare text after one normalizing round.
  const once = serializePhp(value);
  assert.equal(serializePhp(unserializePhp(once)), once, `seed ${SEED}: ${JSON.stringify(input)}`);
  return "value";
}

Deno.test(`fuzz: mutated commands and random input give a value or a PayloadError (seed ${SEED})`, () => {
  const corpus = seedCorpus();
  assert.ok(corpus.length > 10);
  const outcomes = { value: 0, error: 0 };
  for (const input of corpus) assert.equal(check(input), "value", input);
  for (let i = 0; i < 12_000; i++) outcomes[check(mutate(pick(corpus), corpus))]++;
  for (let i = 0; i < 3_000; i++) outcomes[check(tokenSoup())]++;
  // Tight limits exercise the depth and element checks on realistic shapes.
  const tight = { maxDepth: 2, maxElements: 20, maxBytes: 400 };
  for (let i = 0; i < 2_000; i++) outcomes[check(mutate(pick(corpus), corpus), tight)]++;
  assert.ok(outcomes.value > 100 && outcomes.error > 1000, JSON.stringify(outcomes));
});

phpTest(
  `fuzz: real PHP accepts every input we accept, with the same value (seed ${SEED})`,
  async () => {
    const corpus = seedCorpus();
    const accepted: string[] = [];
    while (accepted.length < 1500) {
      const input = random() < 0.5 ? pick(corpus) : mutate(pick(corpus), corpus);
      if (check(input) === "value") accepted.push(input);
    }
    // No classes allowed: every object comes back as __PHP_Incomplete_Class, which keeps its name.
    const code = `return array_map(function ($text) {
    $value = unserialize($text, ['allowed_classes' => false]);
    return $value === false && $text !== serialize(false) ? null : serialize($value);
  }, $input);`;
    const results = await runPhp(code, accepted) as (string | null)[];
    accepted.forEach((input, i) => {
      const php = results[i];
      assert.ok(typeof php === "string", `seed ${SEED}: PHP refused ${JSON.stringify(input)}`);
      assert.deepEqual(
        unserializePhp(php),
        unserializePhp(input),
        `seed ${SEED}: ${JSON.stringify(input)}`,
      );
    });
  },
);

Deno.test("fuzz: pathological shapes are refused quickly", () => {
  const inputs = [
    "a:1:{i:0;".repeat(200_000),
    'O:8:"stdClass":1:{s:1:"a";'.repeat(50_000),
    "a:999999999999999:{",
    "a:1000000:{" + "i:0;N;".repeat(10),
    's:999999999999999:"',
    "i:" + "9".repeat(100_000) + ";",
    "d:" + "9".repeat(100_000) + ";",
    "d:1e" + "9".repeat(10_000) + ";",
    's:0:"";'.repeat(100_000),
  ];
  for (const input of inputs) {
    const started = performance.now();
    assert.equal(check(input), input.startsWith("d:") ? "value" : "error", input.slice(0, 40));
    assert.ok(performance.now() - started < 1000, `slow on ${input.slice(0, 40)}`);
  }
});
