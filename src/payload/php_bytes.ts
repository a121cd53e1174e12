/**
 * The byte-level half of the PHP unserializer: a cursor over UTF-8 bytes that
 * reads counts, integers, floats and strings strictly, and reports every
 * problem as a PayloadError naming the byte offset and what was found there.
 */
import { PayloadError } from "../errors.ts";

// ignoreBOM keeps a leading U+FEFF inside a string instead of silently dropping it.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The ASCII bytes the grammar looks for. */
export const Byte = {
  Quote: 0x22,
  Plus: 0x2b,
  Minus: 0x2d,
  Dot: 0x2e,
  Zero: 0x30,
  Nine: 0x39,
  Colon: 0x3a,
  Semicolon: 0x3b,
  E: 0x45,
  LowerE: 0x65,
  OpenBrace: 0x7b,
  CloseBrace: 0x7d,
} as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= Byte.Zero && b <= Byte.Nine;
}

export class ByteReader {
  pos = 0;
  readonly #allAscii: boolean;
  /** UTF-8 bytes minus UTF-16 units in the strings read so far: maps byte offsets into `text`. */
  #shift = 0;

  /** `bytes` is the UTF-8 encoding of `text`; ASCII ranges are sliced from `text`, not decoded. */
  constructor(readonly bytes: Uint8Array, readonly text: string) {
    this.#allAscii = bytes.length === text.length;
  }

  fail(detail: string, at: number = this.pos): never {
    throw new PayloadError(`Cannot unserialize PHP value at byte ${at}: ${detail}`);
  }

  /** What sits at `at`, for messages: `'x'`, `byte 0x00` or `end of input`. */
  found(at: number = this.pos): string {
    const b = this.bytes[at];
    if (b === undefined) return "end of input";
    if (b >= 0x20 && b < 0x7f) return `'${String.fromCharCode(b)}'`;
    return `byte 0x${b.toString(16).padStart(2, "0")}`;
  }

  expect(byte: number, context: string): void {
    if (this.bytes[this.pos] !== byte) {
      this.fail(`expected '${String.fromCharCode(byte)}' ${context}, found ${this.found()}`);
    }
    this.pos++;
  }

  /** A length or count: canonical unsigned decimal (no sign, no leading zeros). */
  readCount(what: string): number {
    const { bytes } = this;
    const start = this.pos;
    const first = bytes[start];
    if (first === Byte.Minus) this.fail(`negative ${what}`);
    if (!isDigit(first)) this.fail(`expected the ${what} (digits), found ${this.found()}`);
    let n = 0;
    let at = start;
    while (isDigit(bytes[at])) n = n * 10 + (bytes[at++]! - Byte.Zero);
    if (first === Byte.Zero && at - start > 1) this.fail(`${what} has leading zeros`, start);
    if (at - start > 15) this.fail(`${what} is too large`, start);
    this.pos = at;
    return n;
  }

  /** The digits of `i:` up to its `;`: canonical, within PHP's 64-bit range. */
  readInt(): number | bigint {
    const { bytes } = this;
    const start = this.pos;
    let at = start;
    if (bytes[at] === Byte.Plus) this.fail("integer has a leading '+'");
    if (bytes[at] === Byte.Minus) at++;
    const digitsAt = at;
    let n = 0;
    while (isDigit(bytes[at])) n = n * 10 + (bytes[at++]! - Byte.Zero);
    const digits = at - digitsAt;
    if (digits === 0) this.fail(`integer must be digits, found ${this.found(at)}`, at);
    if (bytes[digitsAt] === Byte.Zero && (digits > 1 || digitsAt > start)) {
      this.fail("integer has leading zeros (or is -0)", start);
    }
    if (bytes[at] !== Byte.Semicolon) {
      this.fail(`expected ';' after the integer, found ${this.found(at)}`, at);
    }
    this.pos = at + 1;
    const negative = digitsAt > start;
    if (digits <= 15) return negative ? -n : n; // exact: below 2^53
    if (digits > 19) this.fail("integer is outside PHP's 64-bit range", start);
    const big = BigInt(this.#ascii(start, at));
    if (big < INT64_MIN || big > INT64_MAX) {
      this.fail("integer is outside PHP's 64-bit range", start);
    }
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }

  /** The text of `d:` up to its `;`: PHP's grammar, plus NAN, INF and -INF. */
  readFloat(): number {
    const { bytes } = this;
    const start = this.pos;
    for (const [word, value] of SPECIAL_FLOATS) {
      if (this.#startsWith(word)) {
        this.pos += word.length;
        return value;
      }
    }
    let at = start;
    if (bytes[at] === Byte.Plus || bytes[at] === Byte.Minus) at++;
    const intAt = at;
    while (isDigit(bytes[at])) at++;
    let digits = at - intAt;
    if (bytes[at] === Byte.Dot) {
      const fractionAt = ++at;
      while (isDigit(bytes[at])) at++;
      digits += at - fractionAt;
    }
    if (digits === 0) this.fail(`float must be digits, found ${this.found(at)}`, at);
    if (bytes[at] === Byte.E || bytes[at] === Byte.LowerE) {
      at++;
      if (bytes[at] === Byte.Plus || bytes[at] === Byte.Minus) at++;
      if (!isDigit(bytes[at])) {
        this.fail(`float exponent must be digits, found ${this.found(at)}`, at);
      }
      while (isDigit(bytes[at])) at++;
    }
    if (bytes[at] !== Byte.Semicolon) {
      this.fail(`expected ';' after the float, found ${this.found(at)}`, at);
    }
    this.pos = at + 1;
    return Number(this.#ascii(start, at)); // the grammar above is a subset of Number()'s
  }

  /** `length` bytes of UTF-8 from the cursor, decoded strictly. */
  readString(length: number): string {
    const start = this.pos;
    const end = start + length;
    if (end > this.bytes.length) {
      this.fail(`string of ${length} bytes runs past the end of input`, start);
    }
    this.pos = end;
    const { bytes } = this;
    let ascii = this.#allAscii;
    if (!ascii) {
      let i = start;
      while (i < end && bytes[i]! < 0x80) i++;
      ascii = i === end;
    }
    // Outside strings every byte the grammar accepts is ASCII, so the shift is exact.
    if (ascii) return this.text.slice(start - this.#shift, end - this.#shift);
    let decoded: string;
    try {
      decoded = UTF8.decode(bytes.subarray(start, end));
    } catch {
      return this.fail(`string of ${length} bytes is not valid UTF-8 (wrong length?)`, start);
    }
    this.#shift += length - decoded.length;
    return decoded;
  }

  #startsWith(word: string): boolean {
    for (let i = 0; i < word.length; i++) {
      if (this.bytes[this.pos + i] !== word.charCodeAt(i)) return false;
    }
    return true;
  }

  /** A range already checked to be ASCII. */
  #ascii(start: number, end: number): string {
    return this.text.slice(start - this.#shift, end - this.#shift);
  }
}

const SPECIAL_FLOATS: [string, number][] = [
  ["NAN;", NaN],
  ["INF;", Infinity],
  ["-INF;", -Infinity],
];
