/**
 * Escape attempts through a real daemon: isolated jobs that try to read files
 * and secrets, reach hosts, spawn, load FFI, write outside their folder and
 * import what they may not. Each must fail with a permission error in
 * failed_jobs, nothing may leak, and the daemon must stay healthy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { JobClass } from "../src/jobs/job.ts";
import { BenignInline, BenignIsolated } from "./fixtures/hostile/benign.ts";
import { Connect } from "./fixtures/hostile/connect.ts";
import { DynamicImport } from "./fixtures/hostile/dynamic_import.ts";
import { KillDaemon } from "./fixtures/hostile/kill_daemon.ts";
import { LoadFfi } from "./fixtures/hostile/load_ffi.ts";
import { MakeSymlink } from "./fixtures/hostile/make_symlink.ts";
import { ReadEnv } from "./fixtures/hostile/read_env.ts";
import { ReadFile } from "./fixtures/hostile/read_file.ts";
import { Spawn } from "./fixtures/hostile/spawn.ts";
import { StaticImport } from "./fixtures/hostile/static_import.ts";
import { WriteFile } from "./fixtures/hostile/write_file.ts";
import { isEvent } from "./helpers/daemon_process.ts";
import {
  assertGone,
  pooledChildrenOf,
  rssMb,
  startHostileProject,
} from "./helpers/hostile_project.ts";

type Attempt = [JobClass, Record<string, unknown>, RegExp];

const DENIED = /^PermissionDeniedError: /;

Deno.test("hostile: escape attempts through a real daemon each fail with a permission error; nothing leaks; the daemon stays healthy", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = listener.addr.port;
  const outsideFile = join(await Deno.makeTempDir({ prefix: "kq_escape_" }), "escaped.txt");
  const project = await startHostileProject();
  try {
    const attempts: Attempt[] = [
      [
        ReadFile,
        { path: "/etc/passwd" },
        /ReadFile may not read "\/etc\/passwd": add it to permissions\.read/,
      ],
      [ReadFile, { path: "/etc/passwd", api: "node" }, /may not read "\/etc\/passwd"/],
      [ReadFile, { path: "/etc/passwd", api: "fetch" }, /may not read "\/etc\/passwd"/],
      [ReadFile, { path: ".env" }, /may not read "\.env"/],
      [
        ReadFile,
        { path: join(project.dir, ".env"), api: "node" },
        /may not read "[^"]*\/app\/\.env"/,
      ],
      [ReadFile, { path: "/proc/self/environ" }, /may not read "\/proc\/self\/environ"/],
      [ReadFile, { path: "/proc/{ppid}/environ" }, /may not read "\/proc\/\d+\/environ"/],
      // The nonce that frames the child's result arrived on stdin.
      [ReadFile, { path: "/proc/self/fd/0" }, /may not read "\/proc\/self\/fd\/0"/],
      [
        ReadEnv,
        {},
        /ReadEnv may not read the environment variable "KQ_HOSTILE_SECRET": add it to permissions\.env/,
      ],
      [ReadEnv, { api: "node" }, /may not read the environment variable "KQ_HOSTILE_SECRET"/],
      [ReadEnv, { api: "all" }, /may not read the whole environment/],
      [
        Connect,
        { port: open },
        new RegExp(
          `Connect may not connect to "127\\.0\\.0\\.1:${open}": add it to permissions\\.net`,
        ),
      ],
      [
        Connect,
        { host: "localhost" },
        /may not connect to "localhost:9": add it to permissions\.net \(Deno treats localhost and 127\.0\.0\.1 as different hosts\)/,
      ],
      [Connect, { host: "::1" }, /may not connect to "\[::1\]:9"/],
      [Connect, { host: "0.0.0.0" }, /may not connect to "0\.0\.0\.0:9"/],
      [Connect, { host: "127.0.0.2" }, /may not connect to "127\.0\.0\.2:9"/],
      [
        Connect,
        { host: "localhost", port: open, api: "fetch" },
        new RegExp(`may not connect to "localhost:${open}"`),
      ],
      [
        Connect,
        { host: "example.com", port: 443, api: "fetch" },
        /may not connect to "example\.com(:443)?"/,
      ],
      [Spawn, {}, /Spawn may not run "\/bin\/sh": add it to permissions\.run/],
      [Spawn, { api: "node" }, /may not (run "\/bin\/sh"|read the whole environment)/],
      [Spawn, { api: "deno-self" }, /may not run "[^"]*deno"/],
      [
        KillDaemon,
        {},
        /KillDaemon may not run that: add it to permissions\.run \(Deno: Requires run access/,
      ],
      [
        LoadFfi,
        {},
        /LoadFfi may not load the native library "libc\.so\.6": add it to permissions\.ffi/,
      ],
      [
        WriteFile,
        { path: outsideFile },
        /WriteFile may not write "[^"]*escaped\.txt": add it to permissions\.write/,
      ],
      [
        WriteFile,
        { path: "storage/out/../../escaped.txt" },
        /may not write "storage\/out\/\.\.\/\.\.\/escaped\.txt"/,
      ],
      [WriteFile, { path: "storage/sibling.txt" }, /may not write "storage\/sibling\.txt"/],
      [WriteFile, { path: ".env" }, /may not write "\.env"/],
      [
        MakeSymlink,
        {},
        /MakeSymlink may not .*symlink.*requires unscoped --allow-read and --allow-write/,
      ],
      [StaticImport, {}, /StaticImport may not read "\/etc\/passwd": add it to permissions\.read/],
      [DynamicImport, {}, /DynamicImport may not read "\/etc\/passwd"/],
      [DynamicImport, { url: `file://${project.dir}/.env` }, /may not read "[^"]*\/app\/\.env"/],
      [
        DynamicImport,
        { url: `http://127.0.0.1:${open}/evil.ts` },
        /DynamicImport may not import from "http:\/\/127\.0\.0\.1:\d+\/evil\.ts": isolated jobs load only local modules and cached npm packages \(Deno: Specifier not found in cache/,
      ],
    ];
    const expected = new Map<string, [string, RegExp]>();
    for (const [Class, data, reason] of attempts) {
      expected.set(await project.dispatch(Class, data), [
        `${Class.name} ${JSON.stringify(data)}`,
        reason,
      ]);
    }
    await project.settled(attempts.length, 90_000);

    const rows = new Map((await project.queue.connection.failed.list()).map((r) => [r.uuid, r]));
    for (const [uuid, [what, reason]] of expected) {
      const row = rows.get(uuid);
      assert.ok(row, `${what} is in failed_jobs`);
      assert.match(row.exception, DENIED, `${what}: ${row.exception.split("\n")[0]}`);
      assert.match(row.exception, reason, `${what}: ${row.exception.split("\n")[0]}`);
    }
    assert.equal(rows.size, attempts.length, "nothing else failed");
    assert.equal(
      project.daemon.events.filter(isEvent("job:released")).length,
      0,
      "a denial is never retried",
    );

    const output = project.daemon.events.filter(isEvent("job:output")).map((e) => String(e.line));
    assert.deepEqual(
      output.filter((line) => line.includes("leaked") || line.includes(project.secret)),
      [],
    );
    await assert.rejects(Deno.stat(outsideFile), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(join(project.dir, "escaped.txt")), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(join(project.dir, ".env")), `APP_KEY=${project.secret}\n`);

    // Healthy: later jobs of both kinds run, no child is left, memory and the event loop are fine.
    await project.dispatch(BenignInline, { n: 1 });
    await project.dispatch(BenignIsolated, { n: 2 });
    await project.settled(attempts.length + 2);
    assert.equal(project.daemon.events.filter(isEvent("job:done")).length, 2);
    assert.equal(await Deno.readTextFile(join(project.dir, "storage/out/benign-2.txt")), "2");
    assert.ok(project.daemon.events.some((e) => e.event === "benign" && e.n === 1));
    // Only runners kept warm by the pool remain; they go with the daemon (checked after stop).
    const pooled = pooledChildrenOf(project.daemon.pid);
    const rss = rssMb(project.daemon.pid);
    // Under the default --memory (128 MB), past which a daemon drains and exits 12.
    assert.ok(rss < 128, `daemon RSS ${rss.toFixed(0)} MB`);
    assert.deepEqual(project.daemon.events.filter(isEvent("worker:uncaught")), []);
    const status = await project.stop();
    assert.equal(status.code, 0, project.daemon.stderr.join("\n"));
    assertGone(pooled);
    const stopped = project.daemon.events.find(isEvent("worker:stopped"))!;
    console.log(
      `daemon after ${attempts.length} escape attempts: RSS ${
        rss.toFixed(0)
      } MB, longest event-loop stall ${stopped.maxLagMs} ms`,
    );
  } finally {
    await Deno.remove(join(outsideFile, ".."), { recursive: true }).catch(() => {});
    if (project.daemon.events.every((e) => e.event !== "worker:stopped")) await project.stop();
  }
});
