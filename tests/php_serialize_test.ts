import assert from "node:assert/strict";
import {
  formatPhpFloat,
  PhpObject,
  type PhpValue,
  serializeJobCommand,
  serializePhp,
} from "../src/payload/php_serialize.ts";
import { unserializePhp } from "../src/payload/php_unserialize.ts";
import { fixtureCommands, loadFixtures, phpTest, runPhp } from "./_php_helpers.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;
/** PHP's string form, from its spec: `s:<UTF-8 byte length>:"<raw>";`. */
const str = (s: string) => `s:${bytes(s)}:"${s}";`;

Deno.test("serializePhp writes scalars in PHP's forms", () => {
  assert.equal(serializePhp(null), "N;");
  assert.equal(serializePhp(true), "b:1;");
  assert.equal(serializePhp(false), "b:0;");
  assert.equal(serializePhp(0), "i:0;");
  assert.equal(serializePhp(-42), "i:-42;");
  assert.equal(serializePhp(Number.MAX_SAFE_INTEGER), `i:${Number.MAX_SAFE_INTEGER};`);
  assert.equal(serializePhp(2n ** 63n - 1n), `i:${2n ** 63n - 1n};`);
  assert.equal(serializePhp(-0), "d:-0;");
  assert.equal(serializePhp(NaN), "d:NAN;");
  assert.equal(serializePhp(Infinity), "d:INF;");
  assert.equal(serializePhp(-Infinity), "d:-INF;");
  // Past 2^53 a JS integer is only a double; PHP gets it as one.
  assert.match(serializePhp(2 ** 60), /^d:/);
});

Deno.test("serializePhp counts string lengths in UTF-8 bytes and writes them raw", () => {
  for (const s of ["", "plain", "ü", "from KQueue ✓", "😀 emoji", 'quote " ; } and \0 NUL']) {
    assert.equal(serializePhp(s), str(s));
  }
});

Deno.test("serializePhp writes arrays, with PHP's integer-key normalization", () => {
  assert.equal(serializePhp([]), "a:0:{}");
  assert.equal(serializePhp(["a", 1]), 'a:2:{i:0;s:1:"a";i:1;i:1;}');
  assert.equal(serializePhp({ name: "x" }), 'a:1:{s:4:"name";s:1:"x";}');
  // "-3" and "5" are integer keys in PHP; "05", "-0" and past-int64 strings stay strings.
  assert.equal(serializePhp({ "-3": 1 }), "a:1:{i:-3;i:1;}");
  assert.equal(serializePhp({ "5": 1 }), "a:1:{i:5;i:1;}");
  for (const key of ["05", "-0", "9223372036854775808", "1.5", " 1"]) {
    assert.equal(serializePhp({ [key]: 1 }), `a:1:{${str(key)}i:1;}`);
  }
  assert.equal(serializePhp({ "9223372036854775807": 1 }), "a:1:{i:9223372036854775807;i:1;}");
  assert.equal(serializePhp(Object.assign(Object.create(null), { a: null })), 'a:1:{s:1:"a";N;}');
});

Deno.test("serializePhp names properties by visibility", () => {
  const object = new PhpObject(
    "App\\Jobs\\Child",
    { pub: 1, prot: 2, own: 3, inherited: 4 },
    { prot: "protected", own: "private", inherited: "private" },
    { inherited: "App\\Jobs\\Base" },
  );
  const name = "App\\Jobs\\Child";
  assert.equal(
    serializePhp(object),
    `O:${name.length}:"${name}":4:{${str("pub")}i:1;${str("\0*\0prot")}i:2;` +
      `${str(`\0${name}\0own`)}i:3;${str("\0App\\Jobs\\Base\0inherited")}i:4;}`,
  );
});

Deno.test("serializePhp refuses what PHP cannot hold, naming the path", () => {
  const cycle: Record<string, PhpValue> = {};
  cycle.self = { again: cycle };
  const cases: [unknown, RegExp][] = [
    [{ data: { items: [1, 2, () => 1] } }, /^Cannot serialize value\.data\.items\[2\]: a function/],
    [[Symbol("s")], /value\[0\]: symbol is not a PHP value/],
    [{ u: undefined }, /value\.u: undefined is not a PHP value/],
    [{ when: new Date(0) }, /value\.when: a Date is not a PHP value/],
    [{ m: new Map() }, /value\.m: a Map/],
    [{ "odd key": new (class Thing {})() }, /value\["odd key"\]: a Thing/],
    [cycle, /value\.self\.again: circular reference/],
    [2n ** 63n, /outside PHP's 64-bit range/],
    ["\ud800", /lone UTF-16 surrogate/],
    [[, 1], /value\[0\]: undefined/], // a hole
    [{ [Symbol("k")]: 1 }, /symbol keys/],
    [new PhpObject("Bad Name", {}), /"Bad Name" is not a valid PHP class name/],
    [new PhpObject("A", { x: 1 }, { x: "secret" as never }), /value\.x: visibility "secret"/],
    [new PhpObject("A", { "": 1 }, { "": "protected" }), /a protected property needs a name/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => serializePhp(value as PhpValue), { name: "TypeError", message });
  }
  const shared = { a: 1 }; // shared but not circular: fine, written twice as PHP arrays are
  assert.equal(
    serializePhp([shared, shared]),
    'a:2:{i:0;a:1:{s:1:"a";i:1;}i:1;a:1:{s:1:"a";i:1;}}',
  );
});

Deno.test("serializeJobCommand matches the handcrafted command Laravel ran (fixture 09)", () => {
  const fixture = loadFixtures().find((f) => f.file.startsWith("09-"))!;
  const example = (fixture.data as Record<string, Record<string, unknown>>).kq_serialize_example!;
  const { __class, ...fields } = example.input as Record<string, unknown>;
  assert.equal(serializeJobCommand(__class as string, fields), example.output);
});

Deno.test("serializeJobCommand refuses values that are not JSON-like", () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /^Cannot serialize SendEmail\.to: undefined is not JSON-like \(use null\)$/],
    [NaN, /SendEmail\.to: NaN is not JSON-like/],
    [-Infinity, /SendEmail\.to: -Infinity is not JSON-like/],
    [5n, /SendEmail\.to: bigint is not JSON-like/],
    [new Date(0), /a Date is not JSON-like \(use a string\)/],
    [[new PhpObject("X", {})], /SendEmail\.to\[0\]: a PhpObject is not JSON-like/],
    [{ nested: [new Set()] }, /SendEmail\.to\.nested\[0\]: a Set is not JSON-like/],
  ];
  for (const [to, message] of cases) {
    assert.throws(() => serializeJobCommand("SendEmail", { to }), { name: "TypeError", message });
  }
  assert.throws(() => serializeJobCommand("SendEmail", new Map() as never), TypeError);
  assert.throws(() => serializeJobCommand("Not-A-Class", {}), /not a valid PHP class name/);
});

Deno.test("serializeJobCommand's flat-field shortcut writes what the general writer writes", () => {
  const strings = ["", "plain", "é ü 😀 中文", '"quoted";s:1:"x"', "\0nul", "line\nbreak"];
  const scalars: unknown[] = [
    ...strings,
    0,
    -7,
    Number.MAX_SAFE_INTEGER,
    2 ** 60,
    -0,
    0.1,
    1796341703945.7717,
    -1.5e-300,
    true,
    false,
    null,
  ];
  const visibilities = ["public", "protected", "private"] as const;
  for (let i = 0; i < 500; i++) {
    const fields: Record<string, unknown> = {};
    const visibility: Record<string, (typeof visibilities)[number]> = {};
    const count = i % 6;
    for (let f = 0; f < count; f++) {
      const name = f === 0 && i % 7 === 0 ? "naïve" : `field${f}`;
      fields[name] = scalars[(i * 7 + f * 13) % scalars.length];
      if ((i + f) % 3 === 1) visibility[name] = visibilities[(i + f) % 3]!;
    }
    const expected = serializePhp(
      new PhpObject("App\\Jobs\\Flat", fields as Record<string, PhpValue>, visibility),
    );
    assert.equal(serializeJobCommand("App\\Jobs\\Flat", fields, visibility), expected);
  }
  // Values the shortcut leaves to the writer still get the writer's answer or error.
  assert.equal(
    serializeJobCommand("Nested", { list: [1, "a"], map: { k: null } }),
    serializePhp(new PhpObject("Nested", { list: [1, "a"], map: { k: null } })),
  );
  assert.throws(() => serializeJobCommand("SendEmail", { "\0x": 1 }), /cannot start with a NUL/);
  assert.throws(() => serializeJobCommand("SendEmail", { to: "\ud800" }), /lone UTF-16 surrogate/);
  assert.throws(() => serializeJobCommand("Bad Class", { to: 1 }), /not a valid PHP class name/);
});

Deno.test("every fixture command reads back and re-serializes byte for byte", () => {
  const commands = fixtureCommands();
  assert.ok(commands.length > 0, "no commands found in the fixtures");
  for (const command of commands) assert.equal(serializePhp(unserializePhp(command)), command);
});

Deno.test("formatPhpFloat gives the shortest text that reads back exactly", () => {
  for (const x of [0.1, 1 / 3, 1e25, 1e-7, 5e-324, Number.MAX_VALUE, -123.456, 2 ** 70]) {
    assert.equal(Number(formatPhpFloat(x)), x);
    assert.equal(unserializePhp(serializePhp(x)), x);
  }
  assert.ok(Object.is(unserializePhp(serializePhp(-0)), -0));
});

/** [description, our value, the same value as a PHP expression] */
const PHP_CASES: [string, PhpValue, string][] = [
  ["null", null, "null"],
  ["booleans", [true, false], "[true, false]"],
  ["integers", [0, -7, 42, Number.MAX_SAFE_INTEGER], "[0, -7, 42, 9007199254740991]"],
  [
    "big ints",
    [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n],
    "[PHP_INT_MAX, PHP_INT_MIN, 9007199254740993]",
  ],
  [
    "floats",
    [0.1, 1e25, 1.5, 1e-7, 0.0001, 1e16, 1e17, 123456.789],
    "[0.1, 1e25, 1.5, 1e-7, 0.0001, 1e16, 1e17, 123456.789]",
  ],
  [
    "float edges",
    [-0, 5e-324, Number.MAX_VALUE, 2 ** 53],
    "[-0.0, 5e-324, 1.7976931348623157e308, 9007199254740992.0]",
  ],
  ["non-finite floats", [Infinity, -Infinity, NaN], "[INF, -INF, NAN]"],
  ["UTF-8 string", "from KQueue ✓", "'from KQueue ✓'"],
  [
    "awkward strings",
    ["", "ünï/✓ 😀", 'a"b;c}', "nul\0byte"],
    '["", "ünï/✓ 😀", "a\\"b;c}", "nul\\0byte"]',
  ],
  [
    "nested arrays",
    [[1, [2, []]], { a: null, b: { c: "d" } }],
    "[[1, [2, []]], ['a' => null, 'b' => ['c' => 'd']]]",
  ],
  // JS puts array-index keys ("5") first, PHP keeps insertion order: the PHP side lists them first.
  [
    "numeric-string keys",
    { "5": "five", b: 1, "-3": "minus", "05": "str" },
    "['5' => 'five', 'b' => 1, '-3' => 'minus', '05' => 'str']",
  ],
  ["non-list integer keys", { "1": "a", "3": "b" }, "[1 => 'a', 3 => 'b']"],
  [
    "stdClass",
    new PhpObject("stdClass", { a: 1, list: [1] }),
    "(object) ['a' => 1, 'list' => [1]]",
  ],
  [
    "job with protected and private properties",
    new PhpObject("App\\Jobs\\SendEmail", {
      to: "a@b.c",
      subject: "hi ✓",
      vars: null,
      locale: "fr",
      secret: "s",
    }, { locale: "protected", secret: "private" }),
    "new \\App\\Jobs\\SendEmail('a@b.c', 'hi ✓', 'fr', 's')",
  ],
  [
    "private property of a parent class",
    new PhpObject("App\\Jobs\\Child", { token: "t", own: 2 }, { token: "private" }, {
      token: "App\\Jobs\\Base",
    }),
    "new \\App\\Jobs\\Child('t', 2)",
  ],
];

const PRELUDE = `namespace App\\Jobs {
  class SendEmail {
    public $to; public $subject; public $vars; protected $locale = 'en'; private $secret = null;
    function __construct($to = null, $subject = null, $locale = 'en', $secret = null) {
      $this->to = $to; $this->subject = $subject; $this->locale = $locale; $this->secret = $secret;
    }
  }
  class Base { private $token; function __construct($t) { $this->token = $t; } }
  class Child extends Base {
    public $own;
    function __construct($t, $own) { parent::__construct($t); $this->own = $own; }
  }
}`;

// For each case: PHP's own serialize(), and what PHP makes of our text.
const COMPARE_IN_PHP = `
  $expected = [${PHP_CASES.map(([, , php]) => php).join(",\n")}];
  $out = [];
  foreach ($input as $i => $ours) {
    $back = unserialize($ours, ['allowed_classes' => true]);
    $out[] = [
      'serialize' => serialize($expected[$i]),
      'read' => $back !== false || $ours === 'b:0;',
      'export' => var_export($back, true),
      'expected_export' => var_export($expected[$i], true),
      'reserialized' => serialize($back),
    ];
  }
  return $out;`;

phpTest("real PHP serializes the same values to the same text, and reads ours back", async () => {
  const ours = PHP_CASES.map(([, value]) => serializePhp(value));
  const results = await runPhp(COMPARE_IN_PHP, ours, PRELUDE) as Record<string, string | boolean>[];
  assert.equal(results.length, PHP_CASES.length);
  PHP_CASES.forEach(([name, value], i) => {
    const php = results[i]!;
    assert.equal(ours[i], php.serialize, `${name}: serialize() differs`);
    assert.equal(php.read, true, `${name}: PHP could not unserialize ours`);
    assert.equal(php.export, php.expected_export, `${name}: var_export differs`);
    assert.equal(php.reserialized, php.serialize, `${name}: visibility or types differ`);
    assert.deepEqual(unserializePhp(php.serialize as string), value, `${name}: reading PHP's text`);
  });
});

phpTest(
  "a job command KQueue writes reads in PHP as the class with defaults for the rest",
  async () => {
    const ours = serializeJobCommand("App\\Jobs\\SendEmail", {
      to: "kq@kqueue.example",
      subject: "from KQueue ✓",
    });
    const code = `$expected = new \\App\\Jobs\\SendEmail('kq@kqueue.example', 'from KQueue ✓');
    return [var_export(unserialize($input), true), var_export($expected, true)];`;
    const [got, expected] = await runPhp(code, ours, PRELUDE) as [string, string];
    assert.equal(got, expected);
  },
);

phpTest(
  "random doubles: same text as PHP's serialize(), and the same bits back in both",
  async () => {
    const view = new DataView(new ArrayBuffer(8));
    const doubles: number[] = [];
    for (let i = 0; i < 3000; i++) {
      // Random bit patterns cover every exponent; scaled randoms cover the common range.
      if (i % 2) { for (let b = 0; b < 8; b++) view.setUint8(b, Math.floor(Math.random() * 256)); }
      else view.setFloat64(0, (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 40 - 20));
      const x = view.getFloat64(0);
      if (Number.isFinite(x)) doubles.push(x);
    }
    // Where formatPhpFloat's plain-decimal shortcut starts and ends (decpt -3 … 17), each side.
    for (const edge of [1e-4, 1e17]) {
      for (const x of [edge, edge * (1 - 2 ** -52), edge * (1 + 2 ** -52), edge / 10, edge * 10]) {
        doubles.push(x, -x);
      }
    }
    doubles.push(99999999999999984, 1796341703945.7717, 0.1 + 0.2);
    const hex = doubles.map((
      x,
    ) => (view.setFloat64(0, x),
      [...new Uint8Array(view.buffer)].map((b) => b.toString(16).padStart(2, "0")).join(""))
    );
    const code = `$out = [];
    foreach ($input['hex'] as $i => $h) {
      $text = serialize(unpack('E', hex2bin($h))[1]);
      $out[] = [$text, bin2hex(pack('E', unserialize($input['ours'][$i])))];
    }
    return $out;`;
    const ours = doubles.map((x) => `d:${formatPhpFloat(x)};`);
    const results = await runPhp(code, { hex, ours }) as [string, string][];
    assert.equal(results.length, doubles.length);
    doubles.forEach((x, i) => {
      const [phpText, bitsBack] = results[i]!;
      assert.equal(ours[i], phpText, `serialize(${x})`);
      assert.equal(bitsBack, hex[i], `PHP read ${ours[i]} as another double`);
      assert.ok(Object.is(unserializePhp(phpText), x), `we read ${phpText} as another double`);
    });
  },
);
