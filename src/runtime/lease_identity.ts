/**
 * A reservation's identity (what a store's lease extender needs to find it:
 * SQLite `[id, reserved_at, attempts]`, Redis `[key, member bytes]`) as bytes
 * for the lease mailbox. Numbers, strings, byte arrays and arrays of those;
 * anything else is not encodable (it goes to the supervisor as a message).
 */
const NUMBER = 1;
const STRING = 2;
const BYTES = 3;
const ARRAY = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes identities into a buffer of its own, reused from call to call (one
 * hold per reservation is on the path to `handle()`: no allocation per part).
 */
export class IdentityEncoder {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  #at = 0;
  #lastString = "";
  #lastStringBytes = new Uint8Array(0);

  /** The identity as bytes (valid until the next call), or undefined for an unsupported value. */
  encode(identity: unknown): Uint8Array | undefined {
    this.#at = 0;
    if (!this.#put(identity)) return undefined;
    return this.#bytes.subarray(0, this.#at);
  }

  #put(value: unknown): boolean {
    if (typeof value === "number") {
      this.#reserve(9);
      this.#bytes[this.#at] = NUMBER;
      this.#view.setFloat64(this.#at + 1, value);
      this.#at += 9;
    } else if (typeof value === "string") {
      // The same key again and again (a queue's `:reserved`): its bytes are kept, since
      // encoding it cost ~15 µs of a cold wake-up (measured).
      if (value !== this.#lastString) {
        this.#lastString = value;
        this.#lastStringBytes = encoder.encode(value);
      }
      const utf8 = this.#lastStringBytes;
      this.#reserve(5 + utf8.length);
      this.#bytes.set(utf8, this.#at + 5);
      this.#header(STRING, utf8.length);
      this.#at += utf8.length;
    } else if (value instanceof Uint8Array) {
      this.#reserve(5 + value.length);
      this.#bytes.set(value, this.#at + 5);
      this.#header(BYTES, value.length);
      this.#at += value.length;
    } else if (Array.isArray(value)) {
      this.#reserve(5);
      this.#header(ARRAY, value.length);
      for (const item of value) if (!this.#put(item)) return false;
    } else {
      return false;
    }
    return true;
  }

  #header(tag: number, length: number): void {
    this.#bytes[this.#at] = tag;
    this.#view.setUint32(this.#at + 1, length);
    this.#at += 5;
  }

  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + bytes));
    grown.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }
}

/** The identity as (fresh) bytes, or undefined when it holds something else than the four kinds. */
export function encodeIdentity(identity: unknown): Uint8Array | undefined {
  return new IdentityEncoder().encode(identity)?.slice();
}

/** The identity `encodeIdentity` encoded. Throws on bytes it did not write. */
export function decodeIdentity(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [value, end] = read(bytes, view, 0);
  if (end !== bytes.length) throw new RangeError("a lease identity has trailing bytes");
  return value;
}

function read(bytes: Uint8Array, view: DataView, at: number): [unknown, number] {
  const tag = bytes[at];
  switch (tag) {
    case NUMBER:
      return [view.getFloat64(at + 1), at + 9];
    case STRING:
    case BYTES: {
      const length = view.getUint32(at + 1);
      const start = at + 5;
      if (start + length > bytes.length) throw new RangeError("a lease identity is cut short");
      const slice = bytes.slice(start, start + length);
      return [tag === STRING ? decoder.decode(slice) : slice, start + length];
    }
    case ARRAY: {
      const count = view.getUint32(at + 1);
      const items: unknown[] = [];
      let next = at + 5;
      for (let i = 0; i < count; i++) {
        const [item, end] = read(bytes, view, next);
        items.push(item);
        next = end;
      }
      return [items, next];
    }
    default:
      throw new RangeError(`a lease identity has an unknown tag ${tag}`);
  }
}

/**
 * An identity whose byte arrays own their bytes: postMessage copies a view's
 * whole buffer (a Redis member is often a view into a large socket buffer).
 */
export function ownBytes(identity: unknown): unknown {
  if (identity instanceof Uint8Array) return new Uint8Array(identity);
  if (Array.isArray(identity)) return identity.map(ownBytes);
  return identity;
}
