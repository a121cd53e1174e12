/**
 * A strict, safe reader of PHP `serialize()` text (a payload's `data.command`).
 * The input is untrusted: anything but the plain data forms (N, b, i, d, s, a, O)
 * is refused, limits bound the work, and every failure is a PayloadError.
 */
import { PayloadError } from "../errors.ts";
import { Byte, ByteReader } from "./php_bytes.ts";
import { readFlatObject } from "./php_flat_object.ts";
import { isIntegerKey, isPhpClassName, PhpObject, type PhpValue } from "./php_values.ts";

export interface UnserializeLimits {
  /** Deepest nesting of arrays and objects (0 allows only scalars; at most 1000). @default 64 */
  maxDepth?: number;
  /** Longest input, in UTF-8 bytes. @default 16777216 (16 MiB) */
  maxBytes?: number;
  /** Most array elements plus object properties, counted over the whole input. @default 1000000 */
  maxElements?: number;
}

const ENCODER = new TextEncoder();
// Small inputs (most job commands) are encoded into one reused buffer, saving an allocation.
const SCRATCH = new Uint8Array(64 * 1024);
const MAX_DEPTH_CAP = 1000; // keeps recursion far from the engine's stack limit

/** Reads PHP serialize() text into JS values; throws PayloadError for anything else. */
export function unserializePhp(text: string, limits: UnserializeLimits = {}): PhpValue {
  const { maxDepth = 64, maxBytes = 16 * 1024 * 1024, maxElements = 1_000_000 } = limits;
  checkLimit("maxDepth", maxDepth, 0, MAX_DEPTH_CAP);
  checkLimit("maxBytes", maxBytes, 1, Number.MAX_SAFE_INTEGER);
  checkLimit("maxElements", maxElements, 0, Number.MAX_SAFE_INTEGER);
  if (typeof text !== "string") {
    throw new PayloadError(`Cannot unserialize PHP value: expected a string, got ${typeof text}`);
  }
  // A UTF-16 length over the limit means at least as many UTF-8 bytes: refuse before encoding.
  if (text.length > maxBytes) tooLong(text.length, maxBytes);
  if (maxDepth >= 1) {
    const flat = readFlatObject(text, maxElements);
    if (flat !== undefined) return flat;
  }
  return readPhpValue(text, maxDepth, maxBytes, maxElements);
}

/** The general parser (what `unserializePhp` runs when the flat-object reader declines). */
export function readPhpValue(
  text: string,
  maxDepth: number,
  maxBytes: number,
  maxElements: number,
): PhpValue {
  if (!text.isWellFormed()) {
    throw new PayloadError("Cannot unserialize PHP value: input has a lone UTF-16 surrogate");
  }
  const bytes = text.length * 3 <= SCRATCH.length
    ? SCRATCH.subarray(0, ENCODER.encodeInto(text, SCRATCH).written)
    : ENCODER.encode(text);
  if (bytes.length > maxBytes) tooLong(bytes.length, maxBytes);
  const parser = new Parser(bytes, text, maxDepth, maxElements);
  const value = parser.value(0);
  if (parser.pos !== bytes.length) {
    parser.fail(`trailing bytes after the value, starting with ${parser.found()}`);
  }
  return value;
}

function checkLimit(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot unserialize as '${name}' must be an integer from ${min} to ${max}: current value is ${
        String(value)
      }`,
    );
  }
}

function tooLong(length: number, maxBytes: number): never {
  throw new PayloadError(
    `Cannot unserialize PHP value: input of ${length} bytes is past maxBytes (${maxBytes})`,
  );
}

// Type tags, as bytes.
const TAG_N = 0x4e, TAG_b = 0x62, TAG_i = 0x69, TAG_d = 0x64, TAG_s = 0x73, TAG_a = 0x61;
const TAG_O = 0x4f, TAG_C = 0x43, TAG_E = 0x45, TAG_r = 0x72, TAG_R = 0x52;
const KNOWN_TAGS = new Set([TAG_b, TAG_i, TAG_d, TAG_s, TAG_a, TAG_O, TAG_C, TAG_E, TAG_r, TAG_R]);

class Parser extends ByteReader {
  constructor(
    bytes: Uint8Array,
    text: string,
    readonly maxDepth: number,
    private elementsLeft: number,
  ) {
    super(bytes, text);
  }

  /** One value at the cursor; `depth` counts the arrays and objects around it. */
  value(depth: number): PhpValue {
    const { bytes } = this;
    const at = this.pos;
    const tag = bytes[at];
    if (tag === TAG_N) {
      this.pos++;
      this.expect(Byte.Semicolon, "after 'N'");
      return null;
    }
    if (tag === undefined) this.fail("expected a value, found end of input");
    if (bytes[at + 1] !== Byte.Colon) this.#badTag(at);
    this.pos = at + 2;
    switch (tag) {
      case TAG_b: {
        const b = bytes[this.pos];
        if (b !== Byte.Zero && b !== Byte.Zero + 1) {
          this.fail(`boolean must be 0 or 1, found ${this.found()}`);
        }
        this.pos++;
        this.expect(Byte.Semicolon, "after the boolean");
        return b === Byte.Zero + 1;
      }
      case TAG_i:
        return this.readInt();
      case TAG_d:
        return this.readFloat();
      case TAG_s:
        return this.#string("string");
      case TAG_a:
        return this.#array(depth + 1, at);
      case TAG_O:
        return this.#object(depth + 1, at);
      case TAG_r:
      case TAG_R:
        return this.fail(
          `PHP references are not supported (found '${String.fromCharCode(tag)}:')`,
          at,
        );
      case TAG_C:
        return this.fail("PHP custom-serialized objects (C:) are not supported", at);
      case TAG_E:
        return this.#enum(at);
      default:
        return this.#badTag(at);
    }
  }

  #badTag(at: number): never {
    if (KNOWN_TAGS.has(this.bytes[at]!) && this.bytes[at + 1] !== Byte.Colon) {
      this.fail(
        `expected ':' after type tag ${this.found(at)}, found ${this.found(at + 1)}`,
        at + 1,
      );
    }
    return this.fail(`unknown type tag ${this.found(at)}`, at);
  }

  /** `<len>:"<bytes>"` after `s:`, plus the `;` that ends a string value. */
  #string(what: string, terminator: number = Byte.Semicolon): string {
    const length = this.readCount(`${what} length`);
    this.expect(Byte.Colon, `after the ${what} length`);
    this.expect(Byte.Quote, `to open the ${what}`);
    const start = this.pos;
    const text = this.readString(length);
    if (this.bytes[this.pos] !== Byte.Quote) {
      this.fail(
        `expected '"' after the ${length}-byte ${what} that starts at byte ${start}, ` +
          `found ${this.found()} (wrong length?)`,
      );
    }
    this.pos++;
    this.expect(terminator, `after the ${what}`);
    return text;
  }

  /** `<n>:{` after a: or O:, with the depth and element limits applied. */
  #open(what: string, depth: number, at: number): number {
    const count = this.readCount(`${what} count`);
    this.expect(Byte.Colon, `after the ${what} count`);
    this.expect(Byte.OpenBrace, `to open the ${what}`);
    if (depth > this.maxDepth) this.fail(`nesting deeper than maxDepth (${this.maxDepth})`, at);
    this.elementsLeft -= count;
    if (this.elementsLeft < 0) this.fail("more elements than maxElements allows", at);
    return count;
  }

  #close(what: string, count: number): void {
    this.expect(Byte.CloseBrace, `to close the ${what} of ${count} elements`);
  }

  #array(depth: number, at: number): PhpValue {
    const count = this.#open("array", depth, at);
    // Keys 0..n-1 in order give a JS array; the first other key switches to a record.
    let list: PhpValue[] | undefined = [];
    let record: Record<string, PhpValue> | undefined;
    for (let index = 0; index < count; index++) {
      const keyAt = this.pos;
      const key = this.#key();
      if (list !== undefined) {
        if (key === index) {
          list.push(this.value(depth));
          continue;
        }
        record = {};
        for (let i = 0; i < list.length; i++) record[i] = list[i]!;
        list = undefined;
      }
      const name = String(key);
      if (Object.hasOwn(record!, name)) this.fail(`duplicate array key ${quote(name)}`, keyAt);
      define(record!, name, this.value(depth));
    }
    this.#close("array", count);
    return list ?? record!;
  }

  /** An array key: a number for PHP integer keys in the safe range, else a string. */
  #key(): number | string {
    const at = this.pos;
    const tag = this.bytes[at];
    if ((tag !== TAG_i && tag !== TAG_s) || this.bytes[at + 1] !== Byte.Colon) {
      this.fail(`array key must be an integer (i:) or string (s:), found ${this.found()}`);
    }
    this.pos += 2;
    if (tag === TAG_i) {
      const n = this.readInt();
      return typeof n === "number" ? n : String(n);
    }
    const name = this.#string("key");
    // PHP stores "5" as the integer key 5, so it counts toward a list too.
    return isIntegerKey(name) && Number.isSafeInteger(Number(name)) ? Number(name) : name;
  }

  #object(depth: number, at: number): PhpObject {
    const classAt = this.pos;
    const className = this.#string("class name", Byte.Colon);
    if (!isPhpClassName(className)) {
      this.fail(`${quote(className)} is not a valid PHP class name`, classAt);
    }
    const count = this.#open("object", depth, at);
    const properties: Record<string, PhpValue> = {};
    const visibility: Record<string, "protected" | "private"> = {};
    const declaringClass: Record<string, string> = {};
    for (let index = 0; index < count; index++) {
      const nameAt = this.pos;
      if (this.bytes[nameAt] !== TAG_s || this.bytes[nameAt + 1] !== Byte.Colon) {
        this.fail(`property name must be a string (s:), found ${this.found()}`);
      }
      this.pos += 2;
      let name = this.#string("property name");
      // Protected names are "\0*\0name", private ones "\0Class\0name".
      if (name.startsWith("\0")) {
        const end = name.indexOf("\0", 1);
        const scope = name.slice(1, end);
        const plain = name.slice(end + 1);
        const badScope = scope !== "*" && !isPhpClassName(scope);
        if (end < 0 || badScope || plain === "" || plain.startsWith("\0")) {
          this.fail(`malformed property name ${quote(name)}`, nameAt);
        }
        name = plain;
        if (Object.hasOwn(properties, name)) this.#duplicate(className, name, nameAt);
        define(visibility, name, scope === "*" ? "protected" : "private");
        if (scope !== "*" && scope !== className) define(declaringClass, name, scope);
      } else if (Object.hasOwn(properties, name)) this.#duplicate(className, name, nameAt);
      define(properties, name, this.value(depth));
    }
    this.#close("object", count);
    return new PhpObject(className, properties, visibility, declaringClass);
  }

  #duplicate(className: string, name: string, at: number): never {
    return this.fail(`duplicate property ${quote(name)} in ${className}`, at);
  }

  /** `E:<len>:"Class:Case";`: named in the error when it parses. */
  #enum(at: number): never {
    let name = "";
    try {
      name = ` ${quote(this.#string("enum name").replace(":", "::"), false)}`;
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
    }
    return this.fail(`PHP enum${name} is not supported`, at);
  }
}

/** Untrusted text for a message: escaped, cut to 80 characters, quoted unless `quoted` is false. */
function quote(text: string, quoted = true): string {
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  const json = JSON.stringify(cut);
  return quoted ? json : json.slice(1, -1);
}

/** Sets an own data property; plain assignment of "__proto__" would replace the prototype. */
function define<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else target[key] = value;
}
