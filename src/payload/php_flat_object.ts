/**
 * The usual `data.command` shape, written and read without the general PHP
 * writer and parser: an `O:` object whose properties are public or protected
 * scalars (`N`, `b`, `i` below 2^53, `d` in decimal form, `s`); the reader
 * takes ASCII text only. For anything else both return undefined and the
 * caller falls back to the general code, which writes or reads it, or
 * refuses it with the reason. They write exactly what the general writer
 * writes, and the reader never accepts what the general parser refuses and
 * reads the same values (tested, with mutated inputs). Why: at low load a
 * dispatch and a daemon's wake-up run cold, where the general code (a writer
 * or reader class, byte encoding, the strict checks) cost ~30–80 µs, measured.
 */
import {
  formatPhpFloat,
  isPhpClassName,
  isPlainObject,
  PhpObject,
  type PhpValue,
  utf8Length,
} from "./php_values.ts";

const COLON = 0x3a, SEMICOLON = 0x3b, QUOTE = 0x22, OPEN = 0x7b, CLOSE = 0x7d;
const ZERO = 0x30, NINE = 0x39, MINUS = 0x2d, DOT = 0x2e, PLUS = 0x2b;
/** Counts and lengths with more digits are left to the general parser (its limit is 15). */
const MAX_COUNT_DIGITS = 15;

/**
 * Class names already checked (a queue sees the same few again and again).
 * Bounded: the names are untrusted payload text, and a writer who varies them
 * must not grow this process's memory.
 */
const validClassNames = new Set<string>();
const MAX_REMEMBERED_NAMES = 64;
const MAX_REMEMBERED_NAME_LENGTH = 256;

/** Reads `text` as a flat object, or undefined when it is not one (see above). */
export function readFlatObject(text: string, maxElements: number): PhpObject | undefined {
  if (!text.startsWith("O:")) return undefined;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return undefined;
  const cursor = { pos: 2 };
  const className = quoted(text, cursor, COLON);
  if (className === undefined) return undefined;
  if (!validClassNames.has(className)) {
    if (!isPhpClassName(className)) return undefined;
    if (className.length <= MAX_REMEMBERED_NAME_LENGTH) {
      if (validClassNames.size >= MAX_REMEMBERED_NAMES) validClassNames.clear();
      validClassNames.add(className);
    }
  }
  const count = readCount(text, cursor);
  if (count < 0 || count > maxElements || !take(text, cursor, COLON) || !take(text, cursor, OPEN)) {
    return undefined;
  }
  const properties: Record<string, PhpValue> = {};
  const visibility: Record<string, "protected"> = {};
  for (let i = 0; i < count; i++) {
    if (!text.startsWith("s:", cursor.pos)) return undefined;
    cursor.pos += 2;
    let name = quoted(text, cursor, SEMICOLON);
    if (name === undefined) return undefined;
    let isProtected = false;
    if (name.charCodeAt(0) === 0) {
      // Protected is "\0*\0name"; private ones ("\0Class\0name") go to the general parser.
      if (!name.startsWith("\0*\0") || name.length === 3 || name.charCodeAt(3) === 0) {
        return undefined;
      }
      name = name.slice(3);
      isProtected = true;
    }
    if (name === "__proto__" || Object.hasOwn(properties, name)) return undefined;
    const value = readScalar(text, cursor);
    if (value === undefined) return undefined;
    properties[name] = value;
    if (isProtected) visibility[name] = "protected";
  }
  if (!take(text, cursor, CLOSE) || cursor.pos !== text.length) return undefined;
  return new PhpObject(className, properties, visibility, {});
}

interface Cursor {
  pos: number;
}

function take(text: string, cursor: Cursor, code: number): boolean {
  if (text.charCodeAt(cursor.pos) !== code) return false;
  cursor.pos++;
  return true;
}

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

/** Canonical digits (no sign, no leading zeros); -1 when there are none or too many. */
function readCount(text: string, cursor: Cursor): number {
  const start = cursor.pos;
  let n = 0;
  while (isDigit(text.charCodeAt(cursor.pos))) n = n * 10 + text.charCodeAt(cursor.pos++) - ZERO;
  const digits = cursor.pos - start;
  if (digits === 0 || digits > MAX_COUNT_DIGITS) return -1;
  if (digits > 1 && text.charCodeAt(start) === ZERO) return -1;
  return n;
}

/** `<len>:"<len chars>"` then `end`, at the cursor; undefined when malformed. */
function quoted(text: string, cursor: Cursor, end: number): string | undefined {
  const length = readCount(text, cursor);
  if (length < 0 || !take(text, cursor, COLON) || !take(text, cursor, QUOTE)) return undefined;
  const start = cursor.pos;
  cursor.pos += length; // ASCII only: characters are bytes
  if (cursor.pos > text.length || !take(text, cursor, QUOTE) || !take(text, cursor, end)) {
    return undefined;
  }
  return text.slice(start, start + length);
}

/** One `N;`, `b:…;`, `i:…;`, `d:…;` or `s:…;` value; undefined for anything else. */
function readScalar(text: string, cursor: Cursor): PhpValue | undefined {
  const tag = text[cursor.pos];
  if (tag === "N") {
    cursor.pos++;
    return take(text, cursor, SEMICOLON) ? null : undefined;
  }
  if (text.charCodeAt(cursor.pos + 1) !== COLON) return undefined;
  cursor.pos += 2;
  if (tag === "s") return quoted(text, cursor, SEMICOLON);
  if (tag === "b") {
    const bit = text[cursor.pos++];
    if ((bit !== "0" && bit !== "1") || !take(text, cursor, SEMICOLON)) return undefined;
    return bit === "1";
  }
  if (tag === "i") return readInteger(text, cursor);
  if (tag === "d") return readDecimal(text, cursor);
  return undefined;
}

/** Canonical, below 2^53 in magnitude (15 digits at most), then `;`. */
function readInteger(text: string, cursor: Cursor): number | undefined {
  const negative = take(text, cursor, MINUS);
  const start = cursor.pos;
  const n = readCount(text, cursor);
  if (n < 0 || (negative && n === 0 && cursor.pos - start === 1)) return undefined; // -0
  return take(text, cursor, SEMICOLON) ? (negative ? -n : n) : undefined;
}

/** `-?digits(.digits)?([eE][+-]?digits)?;` (a subset of what the general parser reads). */
function readDecimal(text: string, cursor: Cursor): number | undefined {
  const start = cursor.pos;
  take(text, cursor, MINUS);
  if (!skipDigits(text, cursor)) return undefined;
  if (take(text, cursor, DOT) && !skipDigits(text, cursor)) return undefined;
  const e = text.charCodeAt(cursor.pos);
  if (e === 0x45 || e === 0x65) {
    cursor.pos++;
    if (!take(text, cursor, PLUS)) take(text, cursor, MINUS);
    if (!skipDigits(text, cursor)) return undefined;
  }
  const end = cursor.pos;
  return take(text, cursor, SEMICOLON) ? Number(text.slice(start, end)) : undefined;
}

function skipDigits(text: string, cursor: Cursor): boolean {
  const start = cursor.pos;
  while (isDigit(text.charCodeAt(cursor.pos))) cursor.pos++;
  return cursor.pos > start;
}

/** Class names the writer already checked (job classes: a few, from code); bounded. */
const writtenClassNames = new Set<string>();

/**
 * The common case in a few string concatenations: a plain object whose
 * fields are all strings, numbers, booleans or null, public or protected,
 * with names the Writer accepts. Undefined for anything else (nested values,
 * private fields, bad values), which the Writer then writes or refuses with
 * the reason. The same text the Writer makes (tested). Dispatch at low load
 * runs this cold: the Writer cost ~30–80 µs there, measured.
 */
export function writeFlatObject(
  className: string,
  fields: Record<string, unknown>,
  visibility: Record<string, string>,
): string | undefined {
  if (!writtenClassNames.has(className)) {
    if (!isPhpClassName(className)) return undefined;
    if (writtenClassNames.size >= MAX_REMEMBERED_NAMES) writtenClassNames.clear();
    writtenClassNames.add(className);
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
