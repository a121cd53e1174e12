/**
 * Review: close() while a wait is blocked must clear that slice's poke and
 * guard timers. close() runs the deferred clean-ups first and only then wakes
 * the waits, whose finish() queues a clean-up nobody runs: the process then
 * lives on for the whole slice (+1.25 s) after close.
 */
import assert from "node:assert/strict";
import { RedisServer } from "./redis_fixtures/helpers.ts";

Deno.test("close during a wait: the process exits at once, not after the slice", async () => {
  const server = await RedisServer.start();
  try {
    const started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./redis_fixtures/review_close_wait_exits.ts", import.meta.url).pathname,
        String(server.port),
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const output = await child.output();
    clearTimeout(killer);
    const elapsed = performance.now() - started;
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.equal(new TextDecoder().decode(output.stdout).trim(), "closed");
    assert.ok(
      elapsed < 10_000,
      `the process exited ${elapsed.toFixed(0)} ms after start (slice 20 s)`,
    );
  } finally {
    await server.stop();
  }
});
