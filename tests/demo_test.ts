/** `deno task demo` end to end: every path of the example jobs shows up, and the summary adds up. */
import assert from "node:assert/strict";

Deno.test("demo: runs every example path and prints a summary that adds up", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/demo/main.ts"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(stdout, /✓ SendWelcomeEmail/);
  assert.match(stdout, /✓ ComputePrimes .* done/);
  assert.match(stdout, /✗ ReadSecret .*PermissionDeniedError: ReadSecret may not read "\.env"/);
  assert.match(stdout, /↻ FlakyApiCall .*attempt 1 failed/);
  assert.match(stdout, /✓ FlakyApiCall .*\(attempt 2\)/);
  assert.match(stdout, /✗ ChargeCard .*card declined/);
  assert.match(stdout, /✗ RenderReport .*TimeoutExceededError/);
  const summary = /Summary: (\d+) done, (\d+) retried, (\d+) failed; peak concurrency (\d+)/.exec(
    stdout,
  );
  assert.ok(summary, stdout);
  const [done, retried, failed, peak] = summary.slice(1).map(Number);
  assert.deepEqual([done, retried, failed], [23, 2, 3]);
  assert.ok(peak! > 1 && peak! <= 25, `several jobs ran at once (peak ${peak})`);
  assert.match(stdout, /failed_jobs now holds 3 row\(s\)/);
});
