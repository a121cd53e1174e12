/**
 * A Lua script run by its SHA1 (`EVALSHA`), falling back to `EVAL` with the
 * full text when the server does not have it yet (a new or restarted Redis
 * answers NOSCRIPT), so the text crosses the wire once per server start.
 */
import { createHash } from "node:crypto";
import type { Buffer } from "node:buffer";
import type { Redis } from "./ioredis.ts";

export type ScriptArgument = string | number | Buffer;

/** What runs a script with Buffer replies: ioredis, or the blocking link (`blocking_link.ts`). */
export interface BufferCaller {
  callBuffer(command: string, args: ScriptArgument[]): Promise<unknown>;
}

export class LuaScript {
  readonly sha: string;

  constructor(readonly name: string, readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  /** Replies decoded as UTF-8 strings. */
  async run(
    client: Redis,
    keys: readonly string[],
    args: readonly ScriptArgument[],
  ): Promise<unknown> {
    try {
      return await client.call("evalsha", [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return await client.call("eval", [this.source, keys.length, ...keys, ...args]);
    }
  }

  /** Replies as Buffers: the exact bytes (needed to ZREM a member byte-for-byte). */
  async runBuffer(
    client: BufferCaller,
    keys: readonly string[],
    args: readonly ScriptArgument[],
  ): Promise<unknown> {
    try {
      return await client.callBuffer("evalsha", [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return await client.callBuffer("eval", [this.source, keys.length, ...keys, ...args]);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}
