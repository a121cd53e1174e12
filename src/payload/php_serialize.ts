/**
 * PHP `serialize()` text from JS values: the `data.command` string of a
 * Laravel payload. The output is a JS string holding the same characters PHP
 * would write as UTF-8 bytes; only the `s:` lengths count bytes.
 */
import { writeFlatObject } from "./php_flat_object.ts";
import {
  formatPhpFloat,
  INT64_MAX,
  INT64_MIN,
  isIntegerKey,
  isPhpClassName,
  isPlainObject,
  PhpObject,
  type PhpValue,
  utf8Length,
} from "./php_values.ts";

export {
  formatPhpFloat,
  isIntegerKey,
  isPhpClassName,
  PhpObject,
  type PhpValue,
  utf8Length,
} from "./php_values.ts";

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
  const flat = writeFlatObject(className, fields, visibility);
  if (flat !== undefined) return flat;
  const writer = new Writer(true, className);
  if (!isPlainObject(fields)) writer.fail(`${describe(fields)} is not a plain object of fields`);
  return writer.run(new PhpObject(className, fields as Record<string, PhpValue>, visibility));
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

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
