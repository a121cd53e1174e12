import assert from "node:assert/strict";
import { PayloadError } from "../src/errors.ts";
import { PhpObject, type PhpValue } from "../src/payload/php_serialize.ts";
import { unserializePhp } from "../src/payload/php_unserialize.ts";
import { fixtureViews } from "./_php_helpers.ts";

/** PHP's string form: `s:<UTF-8 byte length>:"<raw>";`. */
const str = (s: string) => `s:${new TextEncoder().encode(s).length}:"${s}";`;
const nest = (depth: number) => "a:1:{i:0;".repeat(depth) + "N;" + "}".repeat(depth);

Deno.test("unserializePhp reads scalars", () => {
  assert.equal(unserializePhp("N;"), null);
  assert.equal(unserializePhp("b:1;"), true);
  assert.equal(unserializePhp("b:0;"), false);
  assert.equal(unserializePhp("i:-42;"), -42);
  assert.equal(unserializePhp(`i:${Number.MAX_SAFE_INTEGER};`), Number.MAX_SAFE_INTEGER);
  // Past Number's safe range, integers stay exact as bigint.
  assert.equal(unserializePhp(`i:${2n ** 53n};`), 2n ** 53n);
  assert.equal(unserializePhp(`i:${-(2n ** 63n)};`), -(2n ** 63n));
  assert.equal(unserializePhp(str("from KQueue ✓")), "from KQueue ✓");
  assert.equal(unserializePhp(str("\uFEFFbom")), "\uFEFFbom"); // a leading BOM is data, not dropped
});

Deno.test("unserializePhp reads every float form PHP writes or accepts", () => {
  const cases: [string, number][] = [
    ["0.1", 0.1],
    ["1.0E+25", 1e25],
    ["1.0E-7", 1e-7],
    ["-1.5e3", -1500],
    ["100", 100],
    [".5", 0.5],
    ["1.", 1],
    ["+2", 2],
    ["INF", Infinity],
    ["-INF", -Infinity],
    ["NAN", NaN],
  ];
  for (const [text, value] of cases) assert.equal(unserializePhp(`d:${text};`), value, text);
  assert.ok(Object.is(unserializePhp("d:-0;"), -0));
});

Deno.test("unserializePhp gives lists as arrays and other arrays as plain objects", () => {
  assert.deepEqual(unserializePhp("a:0:{}"), []);
  assert.deepEqual(unserializePhp('a:2:{i:0;s:1:"a";i:1;N;}'), ["a", null]);
  // PHP stores the key "1" as the integer 1, so this is still a list.
  assert.deepEqual(unserializePhp('a:2:{i:0;N;s:1:"1";b:1;}'), [null, true]);
  // The first key out of order turns what was read so far into a record.
  assert.deepEqual(unserializePhp('a:3:{i:0;N;i:1;N;s:1:"x";i:3;}'), { 0: null, 1: null, x: 3 });
  assert.deepEqual(unserializePhp("a:2:{i:1;N;i:0;N;}"), { 0: null, 1: null });
  assert.deepEqual(unserializePhp(`a:1:{i:${2n ** 62n};N;}`), { [`${2n ** 62n}`]: null });
});

Deno.test("unserializePhp decodes property visibility into PhpObject", () => {
  const text =
    'O:5:"Child":4:{s:1:"a";i:1;s:4:"\0*\0b";i:2;s:8:"\0Child\0c";i:3;s:7:"\0Base\0d";i:4;}';
  assert.deepEqual(
    unserializePhp(text),
    new PhpObject(
      "Child",
      { a: 1, b: 2, c: 3, d: 4 },
      { b: "protected", c: "private", d: "private" },
      { d: "Base" },
    ),
  );
});

Deno.test("a __proto__ key is data, never a prototype", () => {
  const array = unserializePhp('a:1:{s:9:"__proto__";a:1:{s:1:"x";i:1;}}') as Record<
    string,
    unknown
  >;
  assert.equal(Object.getPrototypeOf(array), Object.prototype);
  assert.ok(Object.hasOwn(array, "__proto__"));
  assert.equal(({} as Record<string, unknown>).x, undefined);
  const object = unserializePhp('O:8:"stdClass":1:{s:12:"\0*\0__proto__";i:1;}') as PhpObject;
  assert.equal(Object.getPrototypeOf(object.properties), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(object.properties, "__proto__")?.value, 1);
  assert.equal(Object.getOwnPropertyDescriptor(object.visibility, "__proto__")?.value, "protected");
});

Deno.test("byte offsets stay right after non-ASCII strings", () => {
  const text = `a:4:{i:0;${str("ü😀")}i:1;${str("abc")}i:2;d:1.5;i:3;i:${2n ** 60n};}`;
  assert.deepEqual(unserializePhp(text), ["ü😀", "abc", 1.5, 2n ** 60n]);
  const bad = `a:1:{i:0;${str("✓")}x`;
  assert.throws(() => unserializePhp(bad), {
    message: new RegExp(`at byte ${new TextEncoder().encode(bad).length - 1}: expected '}'`),
  });
});

Deno.test("unserializePhp refuses anything else with a PayloadError naming offset and find", () => {
  const cases: [string, RegExp][] = [
    ["", /at byte 0: expected a value, found end of input/],
    ["r:1;", /at byte 0: PHP references are not supported \(found 'r:'\)/],
    ["a:1:{i:0;R:1;}", /at byte 9: PHP references are not supported \(found 'R:'\)/],
    ['C:3:"Foo":0:{}', /at byte 0: PHP custom-serialized objects \(C:\) are not supported/],
    ['E:11:"Suit:Hearts";', /at byte 0: PHP enum Suit::Hearts is not supported/],
    ['E:99:"Suit', /at byte 0: PHP enum is not supported/],
    ["x:1;", /at byte 0: unknown type tag 'x'/],
    ['S:1:"a";', /unknown type tag 'S'/],
    ["\0", /unknown type tag byte 0x00/],
    ["i1;", /at byte 1: expected ':' after type tag 'i', found '1'/],
    ['s:5:"abc";', /at byte 10: expected '"' after the 5-byte string that starts at byte 5/],
    [
      's:2:"abc";',
      /at byte 7: expected '"' after the 2-byte string .* found 'c' \(wrong length\?\)/,
    ],
    ['s:9:"abc";', /at byte 5: string of 9 bytes runs past the end of input/],
    ['s:1:"✓";', /at byte 5: string of 1 bytes is not valid UTF-8/],
    ['s:3:"abc"', /at byte 9: expected ';' after the string, found end of input/],
    ["i:1", /at byte 3: expected ';' after the integer, found end of input/],
    ["i:+1;", /at byte 2: integer has a leading '\+'/],
    ["i:007;", /at byte 2: integer has leading zeros/],
    ["i:-0;", /at byte 2: integer has leading zeros \(or is -0\)/],
    ["i:1x;", /at byte 3: expected ';' after the integer, found 'x'/],
    ["i:;", /at byte 2: integer must be digits, found ';'/],
    [`i:${2n ** 63n};`, /at byte 2: integer is outside PHP's 64-bit range/],
    ["i:123456789012345678901234567890;", /outside PHP's 64-bit range/],
    ["b:2;", /at byte 2: boolean must be 0 or 1, found '2'/],
    ["d:1.5.5;", /at byte 5: expected ';' after the float, found '\.'/],
    ["d:abc;", /at byte 2: float must be digits, found 'a'/],
    ["d:1e;", /at byte 4: float exponent must be digits/],
    ["a:-1:{}", /at byte 2: negative array count/],
    ['s:-1:"";', /at byte 2: negative string length/],
    ["a:01:{}", /at byte 2: array count has leading zeros/],
    ["a:+1:{}", /at byte 2: expected the array count \(digits\), found '\+'/],
    ["a:9999999999999999:{", /array count is too large/],
    [
      "a:1:{i:0;N;",
      /at byte 11: expected '}' to close the array of 1 elements, found end of input/,
    ],
    ["a:1:{i:0;N;N;}", /at byte 11: expected '}'/],
    [
      "a:1:{d:1.5;N;}",
      /at byte 5: array key must be an integer \(i:\) or string \(s:\), found 'd'/,
    ],
    ['a:2:{s:1:"a";N;s:1:"a";N;}', /at byte 15: duplicate array key "a"/],
    ['a:2:{i:5;N;s:1:"5";N;}', /at byte 11: duplicate array key "5"/],
    ["N;N;", /at byte 2: trailing bytes after the value, starting with 'N'/],
    ["N", /at byte 1: expected ';' after 'N', found end of input/],
    ['O:3:"A B":0:{}', /at byte 2: "A B" is not a valid PHP class name/],
    ['O:1:"A"0:{}', /at byte 7: expected ':' after the class name, found '0'/],
    ['O:1:"A":1:{i:0;N;}', /at byte 11: property name must be a string \(s:\), found 'i'/],
    ['O:1:"A":2:{s:1:"a";N;s:4:"\0*\0a";N;}', /at byte 21: duplicate property "a" in A/],
    ['O:1:"A":1:{s:2:"\0a";N;}', /at byte 11: malformed property name/],
    ['O:1:"A":1:{s:3:"\0*\0";N;}', /malformed property name/],
    ['O:1:"A":1:{s:5:"\0*\0\0a";N;}', /malformed property name/],
    ['O:1:"A":1:{s:6:"\0A B\0a";N;}', /malformed property name/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => unserializePhp(input), (error: unknown) => {
      assert.ok(error instanceof PayloadError, `${JSON.stringify(input)}: ${error}`);
      assert.match(error.message, message, JSON.stringify(input));
      return true;
    });
  }
});

Deno.test("limits bound depth, elements and bytes", () => {
  assert.deepEqual(unserializePhp(nest(64)), JSON.parse("[".repeat(64) + "null" + "]".repeat(64)));
  assert.throws(() => unserializePhp(nest(65)), /nesting deeper than maxDepth \(64\)/);
  assert.throws(() => unserializePhp(nest(3), { maxDepth: 2 }), /at byte 18: nesting deeper/);
  assert.equal(unserializePhp("N;", { maxDepth: 0 }), null);
  assert.throws(() => unserializePhp(nest(100_000)), PayloadError); // no stack overflow
  assert.equal(JSON.stringify(unserializePhp(nest(1000), { maxDepth: 1000 })).length, 2004);
  const three = "a:3:{i:0;N;i:1;N;i:2;N;}";
  assert.deepEqual(unserializePhp(three, { maxElements: 3 }), [null, null, null]);
  assert.throws(() => unserializePhp(three, { maxElements: 2 }), /more elements than maxElements/);
  assert.throws(() => unserializePhp(`a:2:{i:0;${three}i:1;N;}`, { maxElements: 4 }), PayloadError);
  // maxBytes counts UTF-8 bytes, not UTF-16 units: this is 8 characters but 10 bytes.
  const check = str("✓");
  assert.equal(unserializePhp(check, { maxBytes: 10 }), "✓");
  assert.throws(
    () => unserializePhp(check, { maxBytes: 9 }),
    /input of 10 bytes is past maxBytes \(9\)/,
  );
  assert.throws(() => unserializePhp("N;".repeat(10), { maxBytes: 5 }), /past maxBytes/);
});

Deno.test("bad limits are RangeErrors; input that is not a string is a PayloadError", () => {
  for (const limits of [{ maxDepth: -1 }, { maxDepth: 1.5 }, { maxDepth: 1001 }, { maxBytes: 0 }]) {
    assert.throws(() => unserializePhp("N;", limits), RangeError);
  }
  assert.throws(() => unserializePhp("N;", { maxElements: "5" as never }), {
    name: "RangeError",
    message: "Cannot unserialize as 'maxElements' must be an integer from 0 to 9007199254740991: " +
      "current value is 5",
  });
  assert.throws(() => unserializePhp(42 as never), { name: "PayloadError", message: /got number/ });
  assert.throws(() => unserializePhp('s:1:"\ud800";'), {
    name: "PayloadError",
    message: /surrogate/,
  });
});

// PHP rebuilds these on unserialize, so the fixtures' views show the rebuilt object.
const REBUILT_BY_PHP = new Set(["Laravel\\SerializableClosure\\SerializableClosure"]);
const MODEL_IDENTIFIER = "Illuminate\\Contracts\\Database\\ModelIdentifier";

/** Compares our decoding with PHP's view in the fixtures; returns how many fields it compared. */
function compareWithView(ours: PhpValue, view: unknown, where: string): number {
  if (ours instanceof PhpObject) {
    const record = view as Record<string, unknown>;
    if (ours.className === MODEL_IDENTIFIER) {
      // SerializesModels swaps the identifier for the model it names.
      assert.equal(record.__class, ours.properties.class, where);
      return 1;
    }
    assert.equal(record.__class, ours.className, `${where}: class`);
    if (REBUILT_BY_PHP.has(ours.className)) return 1;
    let compared = 1;
    for (const [name, value] of Object.entries(ours.properties)) {
      const seen = ours.visibility[name] ?? "public";
      const owner = ours.declaringClass[name] ?? ours.className;
      // The views spell NUL as the two characters "\0".
      const key = seen === "public"
        ? name
        : seen === "protected"
        ? `\\0*\\0${name}`
        : `\\0${owner}\\0${name}`;
      assert.ok(Object.hasOwn(record, key), `${where}: PHP's view has no ${key}`);
      compared += compareWithView(value, record[key], `${where}.${name}`);
    }
    return compared;
  }
  if (typeof ours === "string" && typeof view === "object" && view !== null) {
    const nested = view as { __serialized: string; __unserialized: unknown };
    assert.equal(nested.__serialized, ours, where); // a chained job, kept as serialized text
    return compareWithView(unserializePhp(ours), nested.__unserialized, `${where}<chained>`);
  }
  if (Array.isArray(ours)) {
    assert.ok(Array.isArray(view) && view.length === ours.length, `${where}: length`);
    return ours.reduce<number>(
      (n, item, i) => n + compareWithView(item, view[i], `${where}[${i}]`),
      0,
    );
  }
  if (ours !== null && typeof ours === "object") {
    const record = view as Record<string, unknown>;
    assert.deepEqual(Object.keys(record).sort(), Object.keys(ours).sort(), `${where}: keys`);
    return Object.entries(ours).reduce(
      (n, [k, v]) => n + compareWithView(v, record[k], `${where}.${k}`),
      0,
    );
  }
  assert.equal(ours, view, where);
  return 1;
}

Deno.test("fixture commands decode to the classes and properties PHP showed", () => {
  const views = fixtureViews();
  assert.ok(views.length > 0, "no decoded views found in the fixtures");
  let compared = 0;
  for (const { file, command, view } of views) {
    const ours = unserializePhp(command);
    assert.ok(ours instanceof PhpObject, file);
    compared += compareWithView(ours, view, `${file} ${ours.className}`);
    // Properties PHP shows that the command lacks are class defaults (handcrafted commands).
    const shown = Object.keys(view).filter((k) => !k.startsWith("__")).length;
    assert.ok(shown >= Object.keys(ours.properties).length, file);
  }
  assert.ok(compared > views.length, `compared only ${compared} fields`);
});
