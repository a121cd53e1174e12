/** What an isolated job can and cannot touch, with real child processes. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PermissionDeniedError } from "../src/errors.ts";
import { jobRequest, outcomeError, runRecorded, waitUntilGone } from "./isolated_helpers.ts";

const PROBES = "permission_jobs.ts";

/** Asserts a denied outcome whose message names the job and the fix, and returns the message. */
function assertDenied(
  outcome: Awaited<ReturnType<typeof runRecorded>>["outcome"],
  pattern: RegExp,
): string {
  assert.equal(
    outcome.kind,
    "denied",
    `expected denied, got ${outcome.kind}: ${describe(outcome)}`,
  );
  const error = outcomeError(outcome);
  assert.ok(error instanceof PermissionDeniedError);
  assert.match(error.message, pattern);
  return error.message;
}

function describe(outcome: Awaited<ReturnType<typeof runRecorded>>["outcome"]): string {
  return "error" in outcome ? outcome.error.message : "";
}

Deno.test("read: /etc/hostname is denied, with a message naming the job, the path and the fix", async () => {
  const { outcome, stdout } = await runRecorded(jobRequest(PROBES, "ReadHostnameJob"));
  assertDenied(
    outcome,
    /^ReadHostnameJob may not read "\/etc\/hostname": add it to permissions\.read \(Deno: Requires read access to "\/etc\/hostname"/,
  );
  assert.deepEqual(stdout, []);
});

Deno.test("read: the project's own deno.json is denied", async () => {
  const { outcome } = await runRecorded(jobRequest(PROBES, "ReadDenoJsonJob"));
  assertDenied(outcome, /^ReadDenoJsonJob may not read "deno\.json": add it to permissions\.read/);
});

Deno.test("read: a declared absolute path outside the project is readable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kq_read_" });
  try {
    const file = join(dir, "data.txt");
    await Deno.writeTextFile(file, "12345");
    Deno.env.set("KQ_PROBE_PATH", file);
    const { outcome, stdout } = await runRecorded(jobRequest(PROBES, "ReadPathJob", {
      permissions: { read: [file], env: ["KQ_PROBE_PATH"] },
    }));
    assert.deepEqual(outcome, { kind: "success" });
    assert.deepEqual(stdout, ["read 5 chars"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revoke: the files granted only to load the job are denied in handle()", async () => {
  const { outcome, stdout } = await runRecorded(jobRequest(PROBES, "ReadOwnSourceJob"));
  // Both the job's own module and KQueue's job.ts were readable to load, and are not now.
  assert.deepEqual(stdout, ["query prompt,prompt"]);
  assertDenied(outcome, /may not read "[^"]*permission_jobs\.ts"/);
});

Deno.test("revoke: a declared read that covers the job's own files keeps them readable", async () => {
  const { outcome, stdout } = await runRecorded(jobRequest(PROBES, "ReadOwnSourceJob", {
    permissions: { read: ["tests/fixtures/isolated_jobs"] },
  }));
  assert.deepEqual(outcome, { kind: "success" });
  assert.deepEqual(stdout, ["query granted,prompt"]);
});

Deno.test("write: allowed inside the declared directory, denied outside it", async () => {
  const allowed = await Deno.makeTempDir({ prefix: "kq_write_ok_" });
  const other = await Deno.makeTempDir({ prefix: "kq_write_no_" });
  try {
    const permissions = { write: [allowed], env: ["KQ_PROBE_PATH"] };
    const inside = join(allowed, "out.txt");
    Deno.env.set("KQ_PROBE_PATH", inside);
    const ok = await runRecorded(jobRequest(PROBES, "WritePathJob", { permissions }));
    assert.deepEqual(ok.outcome, { kind: "success" });
    assert.equal(await Deno.readTextFile(inside), "written by the job");

    const outside = join(other, "out.txt");
    Deno.env.set("KQ_PROBE_PATH", outside);
    const denied = await runRecorded(jobRequest(PROBES, "WritePathJob", { permissions }));
    assertDenied(
      denied.outcome,
      /^WritePathJob may not write "[^"]*out\.txt": add it to permissions\.write/,
    );
    await assert.rejects(Deno.stat(outside), Deno.errors.NotFound);
  } finally {
    await Deno.remove(allowed, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("net: only the declared host:port; localhost is not 127.0.0.1", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  Deno.env.set("KQ_PROBE_PORT", String(port));
  const permissions = { net: [`127.0.0.1:${port}`], env: ["KQ_PROBE_HOST", "KQ_PROBE_PORT"] };

  Deno.env.set("KQ_PROBE_HOST", "127.0.0.1");
  const ok = await runRecorded(jobRequest(PROBES, "ConnectJob", { permissions }));
  assert.deepEqual(ok.outcome, { kind: "success" });
  assert.deepEqual(ok.stdout, ["connect ok"]);

  Deno.env.set("KQ_PROBE_HOST", "localhost");
  const alias = await runRecorded(jobRequest(PROBES, "ConnectJob", { permissions }));
  assertDenied(
    alias.outcome,
    new RegExp(
      `may not connect to "localhost:${port}": add it to permissions\\.net \\(Deno treats localhost and 127\\.0\\.0\\.1 as different hosts\\)`,
    ),
  );

  Deno.env.set("KQ_PROBE_HOST", "127.0.0.1");
  Deno.env.set("KQ_PROBE_PORT", String(port === 65535 ? port - 1 : port + 1));
  const otherPort = await runRecorded(jobRequest(PROBES, "ConnectJob", { permissions }));
  assertDenied(otherPort.outcome, /may not connect to "127\.0\.0\.1:\d+"/);
});

Deno.test("env: an undeclared variable of the daemon is denied; a declared one is readable", async () => {
  Deno.env.set("KQ_PROBE_SECRET", "s3cret");
  const denied = await runRecorded(jobRequest(PROBES, "ReadSecretEnvJob"));
  assertDenied(
    denied.outcome,
    /^ReadSecretEnvJob may not read the environment variable "KQ_PROBE_SECRET": add it to permissions\.env/,
  );
  assert.deepEqual(denied.stdout, []);

  const allowed = await runRecorded(jobRequest(PROBES, "ReadSecretEnvJob", {
    permissions: { env: ["KQ_PROBE_SECRET"] },
  }));
  assert.deepEqual(allowed.outcome, { kind: "success" });
  assert.deepEqual(allowed.stdout, ["secret=s3cret"]);
});

Deno.test("env: the whole environment is never granted", async () => {
  const { outcome } = await runRecorded(jobRequest(PROBES, "EnvToObjectJob", {
    permissions: { env: ["KQ_PROBE_SECRET"] },
  }));
  assertDenied(outcome, /may not read the whole environment: declare each variable/);
});

Deno.test("run: /bin/true is denied unless declared", async () => {
  const denied = await runRecorded(jobRequest(PROBES, "RunTrueJob"));
  assertDenied(denied.outcome, /^RunTrueJob may not run "\/bin\/true": add it to permissions\.run/);
  const allowed = await runRecorded(jobRequest(PROBES, "RunTrueJob", {
    permissions: { run: ["/bin/true"] },
  }));
  assert.deepEqual(allowed.outcome, { kind: "success" });
  assert.deepEqual(allowed.stdout, ["run ok 0"]);
});

Deno.test("ffi: dlopen is denied", async () => {
  const { outcome } = await runRecorded(jobRequest(PROBES, "FfiJob"));
  assertDenied(
    outcome,
    /^FfiJob may not load the native library "libc\.so\.6": add it to permissions\.ffi/,
  );
});

Deno.test("sys: hostname is denied unless declared", async () => {
  const denied = await runRecorded(jobRequest(PROBES, "HostnameSysJob"));
  assertDenied(
    denied.outcome,
    /may not call the system API "hostname": add it to permissions\.sys/,
  );
  const allowed = await runRecorded(jobRequest(PROBES, "HostnameSysJob", {
    permissions: { sys: ["hostname"] },
  }));
  assert.deepEqual(allowed.outcome, { kind: "success" });
});

Deno.test("a static import of a file outside the grant is denied at load", async () => {
  const { outcome, stdout } = await runRecorded(
    jobRequest("static_import_outside.ts", "StaticImportJob"),
  );
  assertDenied(
    outcome,
    /^StaticImportJob may not read "\/etc\/hostname": add it to permissions\.read/,
  );
  assert.deepEqual(stdout, [], "the job never ran");
});

Deno.test("what the job spawns dies with its child (process-group kill)", async () => {
  const { outcome, stdout } = await runRecorded(jobRequest(PROBES, "SpawnSleeperJob", {
    permissions: { run: ["/bin/sleep"] },
  }));
  assert.deepEqual(outcome, { kind: "success" });
  const sleeperPid = Number(/^sleeper (\d+)$/.exec(stdout[0] ?? "")?.[1]);
  assert.ok(sleeperPid > 0, `no sleeper pid in ${JSON.stringify(stdout)}`);
  await waitUntilGone(sleeperPid, 2_000);
});

Deno.test("net: each loopback spelling is its own grant (localhost, 127.0.0.1, [::1], 0.0.0.0, 127.1)", async () => {
  using v4 = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = v4.addr.port;
  using _v6 = Deno.listen({ hostname: "::1", port });
  Deno.env.set("KQ_PROBE_PORT", String(port));
  const env = ["KQ_PROBE_HOST", "KQ_PROBE_PORT"];
  const attempt = async (declared: string, host: string) => {
    Deno.env.set("KQ_PROBE_HOST", host);
    const { outcome } = await runRecorded(jobRequest(PROBES, "ConnectJob", {
      permissions: { net: [`${declared}:${port}`], env },
    }));
    return outcome.kind === "success" ? "connected" : `${outcome.kind}: ${describe(outcome)}`;
  };
  // What Deno 2.9 grants: the name as written (case and a trailing dot aside), and the
  // IPv4-mapped form of a declared IPv4 address. Nothing is resolved to compare addresses.
  const table: [string, string, RegExp | "connected"][] = [
    ["127.0.0.1", "127.0.0.1", "connected"],
    ["127.0.0.1", "::ffff:127.0.0.1", "connected"],
    ["127.0.0.1", "localhost", /^denied: .*may not connect to "localhost:\d+"/],
    ["127.0.0.1", "::1", /^denied: .*may not connect to "\[::1\]:\d+"/],
    ["127.0.0.1", "0.0.0.0", /^denied: .*may not connect to "0\.0\.0\.0:\d+"/],
    ["127.0.0.1", "127.1", /^denied: .*may not connect to "127\.1:\d+"/],
    ["localhost", "localhost", "connected"],
    ["localhost", "127.0.0.1", /^denied: .*may not connect to "127\.0\.0\.1:\d+"/],
    ["localhost", "::1", /^denied: .*may not connect to "\[::1\]:\d+"/],
    ["[::1]", "::1", "connected"],
    ["[::1]", "localhost", /^denied: .*may not connect to "localhost:\d+"/],
    ["[::1]", "127.0.0.1", /^denied: .*may not connect to "127\.0\.0\.1:\d+"/],
  ];
  for (const [declared, host, expected] of table) {
    const got = await attempt(declared, host);
    if (expected === "connected") assert.equal(got, "connected", `${declared} → ${host}`);
    else assert.match(got, expected, `${declared} → ${host}`);
  }
});

Deno.test("child: --no-prompt, --cached-only and a cleared environment, as the OS sees them", async () => {
  Deno.env.set("KQ_PROBE_SECRET", "s3cret");
  Deno.env.set("KQ_PROBE_PATH", "/declared");
  const split = (path: string) => Deno.readTextFileSync(path).split("\0").filter((s) => s !== "");
  let seen: { argv: string[]; environ: string[] } | undefined;
  const { outcome, stdout } = await runRecorded(
    jobRequest(PROBES, "RequestMoreJob", { permissions: { env: ["KQ_PROBE_PATH"] } }),
    // Deno itself refuses a child /proc/self/cmdline (it needs --allow-all): read it from here.
    {
      onSpawn: (pid) =>
        seen = { argv: split(`/proc/${pid}/cmdline`), environ: split(`/proc/${pid}/environ`) },
    },
  );
  assert.deepEqual(outcome, { kind: "success" });
  assert.deepEqual(stdout, ["denied"], "asking for more never prompts and never gets it");
  const { argv, environ } = seen!;
  assert.ok(argv.includes("--no-prompt") && argv.includes("--cached-only"), argv.join(" "));
  assert.ok(
    !argv.some((arg) => arg === "-A" || arg === "--allow-all" || /^--allow-\w+$/.test(arg)),
  );
  const names = environ.map((entry) => entry.split("=")[0]).sort();
  const expected = ["KQ_PROBE_PATH", "NO_COLOR", ...(Deno.env.get("DENO_DIR") ? ["DENO_DIR"] : [])];
  assert.deepEqual(names, expected.sort(), "only what was declared, plus what Deno needs");
});
