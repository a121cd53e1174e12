/** Messages between the daemon's main thread and its lease supervisor Worker (`lease_worker.ts`). */
import type { LogFormat } from "../log_line.ts";

export interface LeaseTiming {
  /** How long a reservation lasts after each extension. Seconds. */
  readonly leaseSeconds: number;
  /** Time between extension rounds. Milliseconds. */
  readonly renewMs: number;
  /** A main thread silent this long gets its leases no more extensions. Milliseconds. */
  readonly livenessMs: number;
}

export type ToSupervisor =
  /**
   * First message: open the store connection (`moduleUrl` exports
   * `openLeaseExtender`); holds and drops come through `mailbox` (lease_mailbox.ts).
   */
  | {
    readonly type: "start";
    readonly moduleUrl: string;
    readonly config: unknown;
    readonly mailbox: SharedArrayBuffer;
    /** How the supervisor writes its own stderr line (see log_line.ts). */
    readonly logFormat: LogFormat;
  } & LeaseTiming
  /** Reservations too large for the mailbox, keyed by the main thread (and settled ones to drop first). */
  | {
    readonly type: "hold";
    readonly entries: ReadonlyArray<readonly [key: number, identity: unknown]>;
    readonly drops?: readonly number[];
  }
  /** Reservations held by message that were settled: stop extending them. */
  | { readonly type: "drop"; readonly keys: readonly number[] }
  /** The mailbox is half full, or records wait for room: read it and answer "drained". */
  | { readonly type: "drain" }
  /** The main thread's heartbeat (any message counts as one). */
  | { readonly type: "alive" }
  /** Finish the round in progress, close the connection, then answer "stopped". */
  | { readonly type: "stop" };

export type FromSupervisor =
  | { readonly type: "ready"; readonly startMs: number }
  | { readonly type: "start-failed"; readonly message: string }
  /** [key, new value] per reservation extended (database: reserved_at; Redis: the score). */
  | { readonly type: "extended"; readonly updates: ReadonlyArray<readonly [number, number]> }
  /** A round failed (the store); the next round tries again. */
  | { readonly type: "store-error"; readonly message: string }
  /** Extensions paused: the main thread had not answered for `silentMs`. */
  | { readonly type: "paused"; readonly silentMs: number; readonly held: number }
  /** The main thread answered again after `silentMs`: extensions go on. */
  | { readonly type: "resumed"; readonly silentMs: number }
  /** The mailbox was read (after a "drain"). */
  | { readonly type: "drained" }
  | { readonly type: "stopped" };
