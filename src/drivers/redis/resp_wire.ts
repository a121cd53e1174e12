/**
 * RESP2 on the wire, for KQueue's own Redis client (`resp_connection.ts`):
 * commands encoded, replies found whole (`replyEnd`, headers only) and parsed
 * (`parseReply`). Pure: no sockets.
 */

export type RespArgument = string | number | Uint8Array;
export type RespReply = string | number | null | Uint8Array | RespReply[];
/** Makes a bulk string's reply from its bytes (a view of the read buffer, which is reused). */
export type BulkReader = (bytes: Uint8Array) => Uint8Array;

/** The connection failed (refused, reset, closed): send again on a new connection. */
export class RespConnectionError extends Error {
  override name = "RespConnectionError";
}

/** Redis refused the command (`-ERR …`, `-NOSCRIPT …`). */
export class RespReplyError extends Error {
  override name = "RespReplyError";
}

const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(args: readonly RespArgument[]): Uint8Array {
  // The common case (ASCII strings and numbers) is one string, encoded once.
  let text = `*${args.length}\r\n`;
  for (const arg of args) {
    if (typeof arg === "number") {
      const digits = String(arg);
      text += `$${digits.length}\r\n${digits}\r\n`;
    } else if (typeof arg === "string" && isAscii(arg)) {
      text += `$${arg.length}\r\n${arg}\r\n`;
    } else {
      return encodeParts(args);
    }
  }
  return encoder.encode(text);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function encodeParts(args: readonly RespArgument[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = arg instanceof Uint8Array ? arg : encoder.encode(String(arg));
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return concat(...parts);
}

type Parsed = { value: RespReply | RespReplyError; end: number };

/**
 * One reply starting at `at`, or undefined when `buffer[at, limit)` does not
 * hold all of it yet. An error inside an array makes the whole reply that error.
 */
export function parseReply(
  buffer: Uint8Array,
  at: number,
  limit: number,
  bulk: BulkReader,
): Parsed | undefined {
  const lineEnd = indexOfCrlf(buffer, at + 1, limit);
  if (lineEnd < 0) return undefined;
  const next = lineEnd + 2;
  switch (buffer[at]) {
    case 43: // +
      return { value: decoder.decode(buffer.subarray(at + 1, lineEnd)), end: next };
    case 45: // -
      return {
        value: new RespReplyError(decoder.decode(buffer.subarray(at + 1, lineEnd))),
        end: next,
      };
    case 58: // :
      return { value: integerAt(buffer, at + 1, lineEnd), end: next };
    case 36: { // $
      const length = integerAt(buffer, at + 1, lineEnd);
      if (length < 0) return { value: null, end: next };
      if (limit < next + length + 2) return undefined;
      return { value: bulk(buffer.subarray(next, next + length)), end: next + length + 2 };
    }
    case 42: { // *
      const count = integerAt(buffer, at + 1, lineEnd);
      if (count < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let error: RespReplyError | undefined;
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end, limit, bulk);
        if (item === undefined) return undefined;
        if (item.value instanceof RespReplyError) error ??= item.value;
        else items.push(item.value);
        end = item.end;
      }
      return { value: error ?? items, end };
    }
    default: {
      const line = decoder.decode(buffer.subarray(at, Math.min(lineEnd, at + 40)));
      throw new RespConnectionError(`Redis sent an unreadable reply (${line})`);
    }
  }
}

/**
 * Where the reply starting at `at` ends, or -1 when `buffer[at, limit)` does
 * not hold all of it yet; reads only the headers (bulk strings are skipped by
 * their length). A type it does not know ends at its line: `parseReply` names it.
 */
export function replyEnd(buffer: Uint8Array, at: number, limit: number): number {
  if (at >= limit) return -1;
  const lineEnd = indexOfCrlf(buffer, at + 1, limit);
  if (lineEnd < 0) return -1;
  const next = lineEnd + 2;
  switch (buffer[at]) {
    case 36: { // $
      const length = integerAt(buffer, at + 1, lineEnd);
      if (length < 0) return next;
      return limit < next + length + 2 ? -1 : next + length + 2;
    }
    case 42: { // *
      const count = integerAt(buffer, at + 1, lineEnd);
      let end = next;
      for (let i = 0; i < count && end >= 0; i++) end = replyEnd(buffer, end, limit);
      return end;
    }
    default:
      return next;
  }
}

/** The decimal integer in `buffer[from, to)` (RESP lengths and `:` replies). */
function integerAt(buffer: Uint8Array, from: number, to: number): number {
  const negative = buffer[from] === 45; // -
  const digitsFrom = negative ? from + 1 : from;
  let n = 0;
  for (let i = digitsFrom; i < to; i++) {
    const digit = buffer[i]! - 48;
    if (digit < 0 || digit > 9) n = NaN;
    n = n * 10 + digit;
  }
  if (to === digitsFrom || Number.isNaN(n)) {
    const text = decoder.decode(buffer.subarray(from, Math.min(to, from + 40)));
    throw new RespConnectionError(`Redis sent an unreadable number (${text})`);
  }
  // Past 15 digits the sum above may round differently from the nearest double.
  if (to - digitsFrom > 15) return Number(decoder.decode(buffer.subarray(from, to)));
  return negative ? -n : n;
}

function indexOfCrlf(buffer: Uint8Array, from: number, limit: number): number {
  for (let i = from; i < limit - 1; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10) return i;
  }
  return -1;
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
