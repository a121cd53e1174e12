/**
 * PHP values as KQueue holds them (`PhpObject`, `PhpValue`) and the text
 * rules the PHP writer and readers share: valid class names, integer-like
 * array keys, PHP 8's float form, UTF-8 lengths.
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

// PHP's zend_is_valid_class_name: letters, digits, `_`, `\` and bytes >= 0x80.
const CLASS_NAME = /^[A-Za-z0-9_\\\u0080-\u{10ffff}]+$/u;
// ZEND_HANDLE_NUMERIC_STR: such string keys become integer keys in PHP arrays.
const INTEGER_KEY = /^(?:0|-?[1-9][0-9]{0,18})$/;
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

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

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
