/**
 * close() while a wait is blocked clears that slice's poke and guard timers
 * too: a woken slice leaves its clean-up for the next slice or close, and
 * after close there is no next slice (it once kept the process alive for the
 * whole slice + 1.25 s).
 */
import assert from "node:assert/strict";
import { RedisServer } from "./redis_fixtures/helpers.ts";

Deno.test("redis wait: close during a wait lets the process exit at once, not after the slice", async () => {
  const server = await RedisServer.start();
  try {
    const started = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./redis_fixtures/close_during_wait.ts", import.meta.url).pathname,
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
