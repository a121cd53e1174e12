/**
 * Review: the flat-object reader remembers every valid class name it has seen
 * (a module Set with no bound). A payload's class name is untrusted text, up
 * to the payload limit: a queue writer who varies it grows the daemon's memory
 * without end, even though each such job is then refused (wrong class).
 */
import assert from "node:assert/strict";
import { unserializePhp } from "../src/payload/php_unserialize.ts";

Deno.test("distinct class names read from payloads are not all kept in memory", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = Deno.memoryUsage().heapUsed;
  const filler = "A".repeat(64 * 1024);
  for (let i = 0; i < 1000; i++) {
    const className = `${filler}${i}`; // 64 KiB, a valid PHP class name
    const text = `O:${className.length}:"${className}":0:{}`;
    unserializePhp(text);
  }
  gc?.();
  const grown = Deno.memoryUsage().heapUsed - before;
  // 1,000 × 64 KiB = 62 MiB if every name is kept.
  assert.ok(grown < 25 * 1024 * 1024, `heap grew by ${(grown / 1024 / 1024).toFixed(0)} MiB`);
});
