/**
 * Review: the flat-object reader remembered every valid class name it had
 * seen (a module Set with no bound). A payload's class name is untrusted
 * text, up to the payload limit: a queue writer who varies it grew the
 * daemon's memory without end, though each such job is then refused.
 */
import assert from "node:assert/strict";

Deno.test("distinct class names read from payloads are not all kept in memory", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL("./review_class_name_growth.fixture.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const grown = Number(new TextDecoder().decode(output.stdout).trim());
  // 1,000 × 64 KiB = 62 MiB if every name is kept.
  assert.ok(grown < 16 * 1024 * 1024, `heap kept ${(grown / 1024 / 1024).toFixed(0)} MiB`);
});
