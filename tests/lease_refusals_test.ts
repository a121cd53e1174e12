/**
 * `kqueue work` refuses, before taking any job, the lease configurations
 * that guarantee a job runs twice at once or that its leases cannot hold:
 * one line on stderr naming the flags to change, exit code 2.
 */
import assert from "node:assert/strict";
import { FIXTURE_JOBS } from "./helpers/daemon_process.ts";
import { tempQueue } from "./helpers/temp_project.ts";

const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;

async function work(flags: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", CLI, "work", "--jobs", FIXTURE_JOBS, "--once", ...flags],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr).trim() };
}

Deno.test("leases: configurations that guarantee duplicates are refused at start-up with one line naming the flags, exit 2", async () => {
  const q = await tempQueue(30);
  try {
    const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
      [
        "extension off (KQUEUE_LEASE=0) with the default --timeout=60 ≥ retry_after 30",
        [],
        { KQUEUE_LEASE: "0" },
        /lease extension is off \(--lease=0\) and --timeout=60 is not below --retry-after=30 \(used by .*\): a job still running at retry_after is handed to a second worker; set --lease=15.* \(set by KQUEUE_LEASE=0\)$/,
      ],
      [
        "extension off with no timeout at all",
        ["--lease=0", "--timeout=0", "--retry-after=200"],
        {},
        /--timeout=0 \(none\) is not below --retry-after=200/,
      ],
      [
        "extension off with a class's own timeout (120) ≥ retry_after",
        ["--lease=0", "--timeout=5", "--retry-after=100"],
        {},
        /and (BlocksMainThread|SlowUntilRetried)'s timeout = 120 is not below --retry-after=100/,
      ],
      [
        "a lease that two renewals and the 1 s store clock do not fit in",
        ["--lease=4", "--lease-renew=2"],
        {},
        /--lease=4 does not outlast two renewals \(--lease-renew=2\) plus the store's 1 s clock: .*raise --lease or lower --lease-renew/,
      ],
      [
        "the default renewal (lease / 3) cannot fit in a 2 s lease either",
        ["--lease=2"],
        {},
        /--lease=2 does not outlast two renewals \(--lease-renew=0.667\)/,
      ],
      [
        "a liveness limit not below the lease",
        ["--lease=10", "--liveness-limit=10"],
        {},
        /--liveness-limit=10 is not below --lease=10: .*lower --liveness-limit or raise --lease/,
      ],
      [
        "a bad KQUEUE_LEASE_RENEW",
        [],
        { KQUEUE_LEASE_RENEW: "0" },
        /KQUEUE_LEASE_RENEW=0 is not valid: it must be a positive number of seconds/,
      ],
    ];
    const results = await Promise.all(cases.map(([, flags, env]) => work(flags, q.env(env))));
    cases.forEach(([what, , , message], i) => {
      const { code, stderr } = results[i]!;
      assert.equal(code, 2, `${what}: exit 2 (got ${code}: ${stderr})`);
      assert.equal(stderr.split("\n").length, 1, `${what}: one line:\n${stderr}`);
      assert.match(stderr, message, what);
    });

    // The same timeouts with extension off but all below retry_after start (and stop: --once).
    const allowed = await work(["--lease=0", "--timeout=5", "--retry-after=200"], q.env());
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /lease extension off: reservations last retry_after/);
    const leased = await work([], q.env());
    assert.equal(leased.code, 0, leased.stderr);
    assert.match(leased.stderr, /leases 15 s, renewed every 5 s \(liveness limit 10 s\)/);
  } finally {
    await q.cleanup();
  }
});
