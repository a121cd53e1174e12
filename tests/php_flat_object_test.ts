import assert from "node:assert/strict";
import { readFlatObject } from "../src/payload/php_flat_object.ts";
import { PhpObject, type PhpValue, serializePhp } from "../src/payload/php_serialize.ts";
import { readPhpValue, unserializePhp } from "../src/payload/php_unserialize.ts";

/** The general parser with unserializePhp's default limits. */
const general = (text: string) => readPhpValue(text, 64, 16 * 1024 * 1024, 1_000_000);

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
}

const SCALARS: PhpValue[] = [
  null,
  true,
  false,
  0,
  -1,
  42,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  2 ** 60,
  1796341703945.7717,
  -0.5,
  1e-300,
  1e25,
  -0,
  Infinity,
  NaN,
  9007199254740993n,
  "",
  "plain text",
  'with "quotes"; and s:3:"x";',
  "é ü 😀",
  "\0nul",
];

function randomObject(next: () => number): PhpObject {
  const properties: Record<string, PhpValue> = {};
  const visibility: Record<string, "public" | "protected" | "private"> = {};
  const count = Math.floor(next() * 6);
  for (let i = 0; i < count; i++) {
    const name = next() < 0.1 ? "naïve" : next() < 0.1 ? "" : `field${i}`;
    properties[name] = SCALARS[Math.floor(next() * SCALARS.length)]!;
    const v = next();
    if (name !== "") visibility[name] = v < 0.6 ? "public" : v < 0.9 ? "protected" : "private";
  }
  return new PhpObject(next() < 0.5 ? "App\\Jobs\\Flat" : "Flat", properties, visibility);
}

Deno.test("readFlatObject reads what the general parser reads, and reads the usual commands", () => {
  const next = random(7);
  let read = 0;
  for (let i = 0; i < 2000; i++) {
    const text = serializePhp(randomObject(next));
    const flat = readFlatObject(text, 1_000_000);
    if (flat === undefined) continue;
    read++;
    assert.deepEqual(flat, general(text), text);
  }
  assert.ok(read > 300, `the shortcut read only ${read} of 2000 commands`);
  // The shape KQueue's own dispatch writes.
  const command = 'O:12:"BenchLatency":2:{s:8:"pushedAt";d:1796341703945.7717;s:4:"\0*\0n";i:-3;}';
  assert.deepEqual(
    readFlatObject(command, 1_000_000),
    new PhpObject("BenchLatency", { pushedAt: 1796341703945.7717, n: -3 }, { n: "protected" }, {}),
  );
});

Deno.test("readFlatObject never accepts a mutated command the general parser refuses or reads otherwise", () => {
  const next = random(11);
  const alphabet = '0123456789:;"{}sidbNOE.-+e*\0xé';
  let accepted = 0;
  for (let i = 0; i < 400; i++) {
    const text = serializePhp(randomObject(next));
    for (let m = 0; m < 25; m++) {
      let mutated = text;
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
        const at = Math.floor(next() * (mutated.length + 1));
        const char = alphabet[Math.floor(next() * alphabet.length)]!;
        const kind = next();
        // Counts and numbers are where a lax reader goes wrong: a leading 0, a sign, ±1.
        const digitAt = [...mutated].findIndex((c, k) => k >= at && c >= "0" && c <= "9");
        mutated = kind < 0.3
          ? mutated.slice(0, at) + char + mutated.slice(at + 1)
          : kind < 0.5
          ? mutated.slice(0, at) + mutated.slice(at + 1)
          : kind < 0.7 || digitAt < 0
          ? mutated.slice(0, at) + char + mutated.slice(at)
          : mutated.slice(0, digitAt) + "0-+9"[Math.floor(next() * 4)] + mutated.slice(digitAt);
      }
      const flat = readFlatObject(mutated, 1_000_000);
      if (flat === undefined) continue;
      accepted++;
      let expected: PhpValue;
      try {
        expected = general(mutated);
      } catch (error) {
        assert.fail(
          `the shortcut read ${JSON.stringify(mutated)}, the parser refused it: ${error}`,
        );
      }
      assert.deepEqual(flat, expected, JSON.stringify(mutated));
    }
  }
  assert.ok(accepted > 100, `only ${accepted} mutations were read at all`);
});

Deno.test("unserializePhp keeps its limits and errors with the shortcut in front", () => {
  const text = 'O:4:"Flat":2:{s:1:"a";i:1;s:1:"b";s:2:"hi";}';
  assert.deepEqual(unserializePhp(text), general(text));
  assert.throws(() => unserializePhp(text, { maxDepth: 0 }), /maxDepth/);
  assert.throws(() => unserializePhp(text, { maxElements: 1 }), /maxElements/);
  assert.throws(() => unserializePhp(text, { maxBytes: 10 }), /maxBytes/);
  assert.throws(() => unserializePhp(`${text}x`), /trailing bytes/);
  assert.throws(() => unserializePhp(text.replace('"a"', '"b"')), /duplicate property/);
  // A "__proto__" property is data (the general parser defines it), never the prototype.
  const proto = unserializePhp('O:4:"Flat":1:{s:9:"__proto__";i:1;}') as PhpObject;
  assert.equal(Object.getOwnPropertyDescriptor(proto.properties, "__proto__")?.value, 1);
  assert.equal(Object.getPrototypeOf(proto.properties), Object.prototype);
});

Deno.test("readFlatObject keeps no unbounded memory of the class names payloads carry (untrusted text)", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./fixtures/php_class_name_growth.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const grown = Number(new TextDecoder().decode(output.stdout).trim());
  // 1,000 × 64 KiB = 62 MiB if every name is kept.
  assert.ok(grown < 16 * 1024 * 1024, `heap kept ${(grown / 1024 / 1024).toFixed(0)} MiB`);
});
