/** The human log: one storage error repeated by every job in flight is one line per window. */
import assert from "node:assert/strict";
import { printHumanEvents, REPEAT_WINDOW_MS } from "../src/cli/output.ts";
import { EventBus } from "../src/events.ts";
import type { Logger } from "../src/log.ts";

function humanLog() {
  const lines: string[] = [];
  const log = {
    info: (line: string) => lines.push(`INFO ${line}`),
    warn: (line: string) => lines.push(`WARN ${line}`),
    error: (line: string) => lines.push(`ERROR ${line}`),
  };
  let now = 0;
  const events = new EventBus();
  printHumanEvents(events, log as unknown as Logger, () => {}, () => now);
  return { events, lines, advance: (ms: number) => void (now += ms) };
}

Deno.test("human log: 100 jobs retrying one refused ack are one line, then one per window with the count", () => {
  const { events, lines, advance } = humanLog();
  const refused = new Error("MISCONF Redis is configured to save RDB snapshots");
  for (let i = 0; i < 100; i++) events.emit("store:error", { operation: "ack", error: refused });
  events.emit("store:error", { operation: "release", error: refused });
  assert.deepEqual(lines, [
    "ERROR Storage error during ack: Error: MISCONF Redis is configured to save RDB snapshots; retrying",
    "ERROR Storage error during release: Error: MISCONF Redis is configured to save RDB snapshots; retrying",
  ]);
  advance(REPEAT_WINDOW_MS);
  events.emit("store:error", { operation: "ack", error: refused });
  assert.equal(
    lines[2],
    "ERROR Storage error during ack: Error: MISCONF Redis is configured to save RDB snapshots; retrying (99 more like it in the last 10 s)",
  );
  for (let i = 0; i < 5; i++) events.emit("store:error", { operation: "ack", error: refused });
  events.emit("store:recovered", { operation: "reserve", downMs: 12_000 });
  assert.deepEqual(lines.slice(3), [
    "INFO Storage works again for reserve after 12.0 s",
    "ERROR Storage error during ack: Error: MISCONF Redis is configured to save RDB snapshots; retrying (5 more like it, not logged, before it recovered)",
  ]);
  events.emit("store:error", { operation: "ack", error: refused });
  assert.equal(lines.length, 6, "after a recovery the next error is shown at once");
});

Deno.test("human log: different storage errors are each shown; the counter keeps at most 100 lines", () => {
  const { events, lines } = humanLog();
  for (let i = 0; i < 150; i++) {
    events.emit("store:error", { operation: "ack", error: new Error(`disk error ${i}`) });
  }
  assert.equal(lines.length, 150);
  events.emit("store:error", { operation: "ack", error: new Error("disk error 0") });
  assert.equal(lines.length, 151, "the oldest line was forgotten, so it shows again");
  events.emit("store:error", { operation: "ack", error: new Error("disk error 149") });
  assert.equal(lines.length, 151, "a recent one is still held back");
});
