/**
 * Hold and drop records from the daemon's main thread to its lease
 * supervisor in shared memory: a single-writer, single-reader byte ring.
 *
 * Why not postMessage: the supervisor must know a reservation before its job
 * starts (a job may block the main thread at once), so every reservation
 * used to cost a message before `handle()`, and a message that wakes an idle
 * Worker cost 60–100 µs on that path (measured at low load; ~3 µs hot). A
 * record in the ring wakes nobody: the supervisor reads the ring before each
 * extension round and at each heartbeat, which needs nothing from the main
 * thread, so a blocked main thread's jobs are still extended.
 *
 * Layout: two Int32 cursors (write, read; byte offsets into the ring), then
 * the ring. A record: kind (1 byte), key (float64), length (uint32), then
 * that many bytes (an encoded identity; none for a drop). The writer never
 * lets the write cursor catch up with the read cursor (one byte stays free).
 */
export const HOLD = 1;
export const DROP = 2;
export type RecordKind = typeof HOLD | typeof DROP;

const WRITE = 0;
const READ = 1;
const CURSOR_BYTES = 8;
const RECORD_HEADER_BYTES = 13;
const NO_BODY = new Uint8Array(0);

export class LeaseMailbox {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly #cursors: Int32Array;
  readonly #ring: Uint8Array;
  readonly #header = new Uint8Array(RECORD_HEADER_BYTES);
  readonly #headerView = new DataView(this.#header.buffer);

  /** Over a buffer made by `LeaseMailbox.create` (on either side). */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.capacity = buffer.byteLength - CURSOR_BYTES;
    this.#cursors = new Int32Array(buffer, 0, 2);
    this.#ring = new Uint8Array(buffer, CURSOR_BYTES);
  }

  static create(capacityBytes: number): LeaseMailbox {
    return new LeaseMailbox(new SharedArrayBuffer(CURSOR_BYTES + capacityBytes));
  }

  /** Bytes written and not read yet. */
  get used(): number {
    const written = Atomics.load(this.#cursors, WRITE);
    const read = Atomics.load(this.#cursors, READ);
    return (written - read + this.capacity) % this.capacity;
  }

  /** The largest record body that can ever fit. */
  get maxBodyBytes(): number {
    return this.capacity - 1 - RECORD_HEADER_BYTES;
  }

  /** Writer: appends one record; false (nothing written) when it does not fit now. */
  write(kind: RecordKind, key: number, body: Uint8Array = NO_BODY): boolean {
    const size = RECORD_HEADER_BYTES + body.length;
    if (size > this.capacity - 1 - this.used) return false;
    this.#headerView.setUint8(0, kind);
    this.#headerView.setFloat64(1, key);
    this.#headerView.setUint32(9, body.length);
    let at = Atomics.load(this.#cursors, WRITE);
    at = this.#copyIn(at, this.#header);
    if (body.length > 0) at = this.#copyIn(at, body);
    Atomics.store(this.#cursors, WRITE, at); // publishes the record
    return true;
  }

  /**
   * Reader: hands every record written so far to `visit`, in order; returns
   * how many. A body is only valid during its `visit` (copy what is kept).
   */
  drain(visit: (kind: RecordKind, key: number, body: Uint8Array) => void): number {
    const written = Atomics.load(this.#cursors, WRITE);
    let at = Atomics.load(this.#cursors, READ);
    let count = 0;
    while (at !== written) {
      at = this.#copyOut(at, this.#header);
      const kind = this.#headerView.getUint8(0) as RecordKind;
      const key = this.#headerView.getFloat64(1);
      const length = this.#headerView.getUint32(9);
      // In place unless it wraps; valid during `visit` only (the space is freed after it).
      let body: Uint8Array;
      if (at + length <= this.capacity) body = this.#ring.subarray(at, at + length);
      else this.#copyOut(at, body = new Uint8Array(length));
      at = (at + length) % this.capacity;
      visit(kind, key, body);
      Atomics.store(this.#cursors, READ, at); // frees the space
      count++;
    }
    return count;
  }

  #copyIn(at: number, bytes: Uint8Array): number {
    const room = this.capacity - at;
    if (bytes.length <= room) this.#ring.set(bytes, at);
    else {
      this.#ring.set(bytes.subarray(0, room), at);
      this.#ring.set(bytes.subarray(room), 0);
    }
    return (at + bytes.length) % this.capacity;
  }

  #copyOut(at: number, into: Uint8Array): number {
    const room = this.capacity - at;
    if (into.length <= room) into.set(this.#ring.subarray(at, at + into.length));
    else {
      into.set(this.#ring.subarray(at));
      into.set(this.#ring.subarray(0, into.length - room), room);
    }
    return (at + into.length) % this.capacity;
  }
}
