/**
 * PHP `serialize()` text from JS values: the `data.command` string of a
 * Laravel payload. The output is a JS string holding the same characters PHP
 * would write as UTF-8 bytes; only the `s:` lengths count bytes.
 */

/** A PHP object: class name, properties by plain name, and their visibility. */
export class PhpObject {
  constructor(
    readonly className: string,
    readonly properties: Record<string, PhpValue>,
    /** Missing entries are public. */
    readonly visibility: Record<string, "public" | "protected" | "private"> = {},
    /**
     * For a private property declared by a parent class: that class, which PHP
     * writes into the name (`\0Parent\0name`). @default className
     */
    readonly declaringClass: Record<string, string> = {},
  ) {}
}

/** The values PHP serialization can carry. */
export type PhpValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PhpValue[]
  | { [key: string]: PhpValue }
  | PhpObject;

/** Writes `value` as PHP `serialize()` text; throws TypeError naming the path of a bad value. */
export function serializePhp(value: PhpValue): string {
  return new Writer(false, "value").run(value);
}

/**
 * The `O:` form of a TypeScript job's data fields, all public. Only JSON-like
 * values are allowed (null, booleans, finite numbers, strings, arrays, plain objects).
 */
export function serializeJobCommand(
  className: string,
  fields: Record<string, unknown>,
  visibility: Record<string, "public" | "protected" | "private"> = {},
): string {
  const flat = serializeFlatFields(className, fields, visibility);
  if (flat !== undefined) return flat;
  const writer = new Writer(true, className);
  if (!isPlainObject(fields)) writer.fail(`${describe(fields)} is not a plain object of fields`);
  return writer.run(new PhpObject(className, fields as Record<string, PhpValue>, visibility));
}

/** Class names already checked by isPhpClassName (a job's class is dispatched many times); bounded. */
const validClassNames = new Set<string>();
const MAX_REMEMBERED_NAMES = 64;

/**
 * The common case in a few string concatenations: a plain object whose
 * fields are all strings, numbers, booleans or null, public or protected,
 * with names the Writer accepts. Undefined for anything else (nested values,
 * private fields, bad values), which the Writer then writes or refuses with
 * the reason. The same text the Writer makes (tested). Dispatch at low load
 * runs this cold: the Writer cost ~30–80 µs there, measured.
 */
function serializeFlatFields(
  className: string,
  fields: Record<string, unknown>,
  visibility: Record<string, string>,
): string | undefined {
  if (!validClassNames.has(className)) {
    if (!isPhpClassName(className)) return undefined;
    if (validClassNames.size >= MAX_REMEMBERED_NAMES) validClassNames.clear();
    validClassNames.add(className);
  }
  if (!isPlainObject(fields)) return undefined;
  const names = Object.keys(fields);
  let body = "";
  for (const name of names) {
    const seen = Object.hasOwn(visibility, name) ? visibility[name] : "public";
    if (name === "" || name.charCodeAt(0) === 0 || !name.isWellFormed()) return undefined;
    const key = seen === "public" ? name : seen === "protected" ? `\0*\0${name}` : undefined;
    if (key === undefined) return undefined;
    const value = fields[name];
    let text: string;
    if (typeof value === "string") {
      if (!value.isWellFormed()) return undefined;
      text = `s:${utf8Length(value)}:"${value}";`;
    } else if (typeof value === "number") {
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) text = `i:${value};`;
      else if (Number.isFinite(value)) text = `d:${formatPhpFloat(value)};`;
      else return undefined;
    } else if (typeof value === "boolean") text = value ? "b:1;" : "b:0;";
    else if (value === null) text = "N;";
    else return undefined;
    body += `s:${utf8Length(key)}:"${key}";${text}`;
  }
  return `O:${utf8Length(className)}:"${className}":${names.length}:{${body}}`;
}

// PHP's zend_is_valid_class_name: letters, digits, `_`, `\` and bytes >= 0x80.
const CLASS_NAME = /^[A-Za-z0-9_\\\u0080-\u{10ffff}]+$/u;
// ZEND_HANDLE_NUMERIC_STR: such string keys become integer keys in PHP arrays.
const INTEGER_KEY = /^(?:0|-?[1-9][0-9]{0,18})$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** True for a name PHP's unserialize() accepts as a class name. */
export function isPhpClassName(name: unknown): name is string {
  return typeof name === "string" && name.isWellFormed() && CLASS_NAME.test(name);
}

/** True when a PHP array would store this string key as an integer. */
export function isIntegerKey(key: string): boolean {
  if (!INTEGER_KEY.test(key)) return false;
  if (key.length < 19) return true;
  const n = BigInt(key);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/** Formats a finite double the way PHP 8's serialize() does (serialize_precision = -1). */
export function formatPhpFloat(x: number): string {
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  // Between these, PHP writes plain decimals (decpt -3 … 17) and so does String():
  // the same shortest digits, no exponent either side. The usual case, and cheap.
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < 1e17) return String(x);
  // toExponential() with no argument gives the shortest digits that read back exactly,
  // the same digits as PHP's zend_gcvt in mode 0.
  const [mantissa = "", exp = "0"] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  const sign = x < 0 ? "-" : "";
  // zend_gcvt with precision 17: scientific when decpt < -3 or decpt > 17 (decpt = e + 1).
  if (e < -4 || e >= 17) {
    const rest = digits.length > 1 ? digits.slice(1) : "0";
    return `${sign}${digits[0]}.${rest}E${e < 0 ? "-" : "+"}${Math.abs(e)}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  if (digits.length <= e + 1) return sign + digits + "0".repeat(e + 1 - digits.length);
  return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
}

/** UTF-8 byte length of a well-formed string. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      i++; // a surrogate pair: 2 units, 4 bytes
      n += 2;
    } else n += 2;
  }
  return n;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "number") return String(value); // NaN, Infinity
  if (typeof value === "function") return "a function";
  if (typeof value !== "object") return typeof value;
  if (Array.isArray(value)) return "an array";
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? `a ${name}` : "an object";
}

class Writer {
  readonly #out: string[] = [];
  readonly #path: (string | number)[] = [];
  readonly #open = new Set<object>(); // containers on the current path, to catch cycles

  constructor(readonly jsonOnly: boolean, readonly root: string) {}

  run(value: unknown): string {
    this.#write(value);
    return this.#out.join("");
  }

  fail(why: string): never {
    let path = this.root;
    for (const part of this.#path) {
      path += typeof part === "number"
        ? `[${part}]`
        : IDENTIFIER.test(part)
        ? `.${part}`
        : `[${JSON.stringify(part)}]`;
    }
    throw new TypeError(`Cannot serialize ${path}: ${why}`);
  }

  #unsupported(value: unknown): never {
    if (!this.jsonOnly) this.fail(`${describe(value)} is not a PHP value`);
    const hint = value === undefined
      ? " (use null)"
      : value instanceof Date
      ? " (use a string)"
      : "";
    this.fail(`${describe(value)} is not JSON-like${hint}`);
  }

  #write(value: unknown): void {
    const out = this.#out;
    switch (typeof value) {
      case "string":
        if (!value.isWellFormed()) this.fail("string has a lone UTF-16 surrogate (not UTF-8)");
        out.push(`s:${utf8Length(value)}:"`, value, '";');
        return;
      case "number":
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) out.push(`i:${value};`);
        else if (Number.isFinite(value)) out.push(`d:${formatPhpFloat(value)};`);
        else if (this.jsonOnly) this.#unsupported(value);
        else out.push(value > 0 ? "d:INF;" : value < 0 ? "d:-INF;" : "d:NAN;");
        return;
      case "boolean":
        out.push(value ? "b:1;" : "b:0;");
        return;
      case "bigint":
        if (this.jsonOnly) this.#unsupported(value);
        if (value < INT64_MIN || value > INT64_MAX) {
          this.fail("bigint is outside PHP's 64-bit range");
        }
        out.push(`i:${value};`);
        return;
      case "object":
        if (value === null) out.push("N;");
        else this.#writeContainer(value);
        return;
      default:
        this.#unsupported(value);
    }
  }

  #writeContainer(value: object): void {
    const isObject = value instanceof PhpObject;
    if (isObject && this.jsonOnly && this.#path.length > 0) this.#unsupported(value);
    if (!isObject && !Array.isArray(value) && !isPlainObject(value)) this.#unsupported(value);
    if (this.#open.has(value)) this.fail("circular reference");
    this.#open.add(value);
    if (value instanceof PhpObject) this.#writeObject(value);
    else if (Array.isArray(value)) this.#writeList(value);
    else this.#writeArray(value as Record<string, unknown>);
    this.#open.delete(value);
  }

  #writeList(list: unknown[]): void {
    this.#out.push(`a:${list.length}:{`);
    for (let i = 0; i < list.length; i++) {
      this.#out.push(`i:${i};`);
      this.#path.push(i);
      this.#write(list[i]); // a hole reads as undefined and is refused
      this.#path.pop();
    }
    this.#out.push("}");
  }

  #writeArray(record: Record<string, unknown>): void {
    if (Object.getOwnPropertySymbols(record).length > 0) this.fail("symbol keys are not PHP keys");
    const keys = Object.keys(record);
    this.#out.push(`a:${keys.length}:{`);
    for (const key of keys) {
      this.#path.push(key);
      if (isIntegerKey(key)) this.#out.push(`i:${key};`);
      else this.#write(key);
      this.#write(record[key]);
      this.#path.pop();
    }
    this.#out.push("}");
  }

  #writeObject(object: PhpObject): void {
    const { className, properties, visibility, declaringClass } = object;
    if (!isPhpClassName(className)) {
      this.fail(`${JSON.stringify(className)} is not a valid PHP class name`);
    }
    if (!isPlainObject(properties)) this.fail(`properties are ${describe(properties)}`);
    const names = Object.keys(properties);
    this.#out.push(`O:${utf8Length(className)}:"`, className, `":${names.length}:{`);
    for (const name of names) {
      this.#path.push(name);
      if (name.startsWith("\0")) this.fail("a property name cannot start with a NUL byte");
      const seen = Object.hasOwn(visibility, name) ? visibility[name] : "public";
      if (name === "" && seen !== "public") this.fail(`a ${seen} property needs a name`);
      if (seen === "public") this.#write(name);
      else if (seen === "protected") this.#write(`\0*\0${name}`);
      else if (seen === "private") {
        const owner = Object.hasOwn(declaringClass, name) ? declaringClass[name] : className;
        if (!isPhpClassName(owner)) {
          this.fail(`${JSON.stringify(owner)} is not a valid PHP class name`);
        }
        this.#write(`\0${owner}\0${name}`);
      } else this.fail(`visibility ${JSON.stringify(seen)} is not public, protected or private`);
      this.#write(properties[name]);
      this.#path.pop();
    }
    this.#out.push("}");
  }
}
