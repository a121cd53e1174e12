/** Pure parts of the subprocess executor: permission flags, module-graph parsing, line splitting. */
import assert from "node:assert/strict";
import { readLines } from "../src/executor/line_reader.ts";
import { parseGraphFiles } from "../src/executor/module_graph.ts";
import {
  isCoveredBy,
  permissionArgs,
  resolvePermissions,
} from "../src/executor/permission_flags.ts";

const ROOT = "/srv/app";

Deno.test("permissions: relative paths resolve inside the project, absolute ones stay as written", () => {
  const resolved = resolvePermissions(
    {
      read: ["storage/app", "./config/../public", "/etc/ssl/certs/", "."],
      write: ["storage/logs"],
      ffi: ["lib/native.so"],
      run: ["/usr/bin/convert", "bin/tool", "git"],
    },
    ROOT,
    "ResizeImage",
  );
  assert.deepEqual(resolved.read, [
    "/srv/app/storage/app",
    "/srv/app/public",
    "/etc/ssl/certs",
    "/srv/app",
  ]);
  assert.deepEqual(resolved.write, ["/srv/app/storage/logs"]);
  assert.deepEqual(resolved.ffi, ["/srv/app/lib/native.so"]);
  assert.deepEqual(resolved.run, ["/usr/bin/convert", "/srv/app/bin/tool", "git"]);
});

Deno.test("permissions: entries that fail open or escape are refused with a TypeError naming the job", () => {
  const refused: [unknown, RegExp][] = [
    [
      { read: ["../secrets"] },
      /ResizeImage as permissions\.read entry "\.\.\/secrets" escapes the project root/,
    ],
    [{ write: ["logs/../../etc"] }, /escapes the project root/],
    [
      { read: true },
      /permissions\.read must be a list, or "all" with the daemon's opt-in: current value is true/,
    ],
    [
      { net: "all" },
      /ResizeImage as permissions\.net is "all", an unscoped grant: list what it needs, or start the daemon with --allow-unscoped=ResizeImage to allow it/,
    ],
    [{ env: "all" }, /permissions\.env is "all", an unscoped grant/],
    [
      { read: ["/"] },
      /permissions\.read entry "\/" is the whole filesystem, an unscoped grant: list narrower paths, or start the daemon with --allow-unscoped=ResizeImage/,
    ],
    [{ write: ["/etc/.."] }, /is the whole filesystem/],
    [{ read: ["/etc/*"] }, /is a wildcard: list each entry, or declare permissions\.read = "all"/],
    ["all", /must be an object of lists \(allow-all is never granted: declare each kind\)/],
    [{ net: "*" }, /permissions\.net must be a list/],
    [{ read: ["*"] }, /is a wildcard/],
    [{ env: ["AWS_*"] }, /is a wildcard/],
    [{ read: [""] }, /must be a non-empty string/],
    [{ read: [42] }, /must be a non-empty string/],
    [{ read: ["a,b"] }, /contains a comma/],
    [{ net: ["http://example.com"] }, /must be host or host:port/],
    [{ env: ["BAD-NAME"] }, /must be a variable name/],
    [{ sys: ["host name"] }, /must be a Deno sys API name/],
    [{ all: [] }, /permissions\.all is not a permission kind/],
    [null, /must be an object of lists/],
  ];
  for (const [permissions, message] of refused) {
    assert.throws(
      () => resolvePermissions(permissions as never, ROOT, "ResizeImage"),
      (error: unknown) => error instanceof TypeError && message.test(error.message),
      JSON.stringify(permissions),
    );
  }
});

Deno.test("permissions: unscoped grants need the daemon's opt-in, and then become the one bare flag", () => {
  const declared = { read: "all", net: "all", env: ["APP_KEY"], write: ["/"] } as const;
  assert.throws(() => resolvePermissions(declared, ROOT, "Wide"), /--allow-unscoped=Wide/);
  assert.throws(
    () => resolvePermissions(declared, ROOT, "Wide", { allowUnscoped: false }),
    /--allow-unscoped=Wide/,
  );
  const resolved = resolvePermissions(declared, ROOT, "Wide", { allowUnscoped: true });
  assert.equal(resolved.read, "all");
  assert.deepEqual(resolved.write, ["/"]);
  assert.deepEqual(permissionArgs(resolved, ["/srv/app/jobs/wide.ts"]), [
    "--allow-read",
    "--allow-write=/",
    "--allow-net",
    "--allow-env=APP_KEY",
  ]);
  assert.ok(!permissionArgs(resolved, []).includes("--allow-all"));
});

Deno.test("permission args: one exact flag per declared kind, none for an empty list", () => {
  const resolved = resolvePermissions(
    {
      read: ["storage"],
      write: [],
      net: ["127.0.0.1:6379", "api.example.com:443", "[::1]:8080"],
      env: ["APP_KEY", "REDIS_URL"],
      sys: ["hostname"],
    },
    ROOT,
    "Job",
  );
  assert.deepEqual(permissionArgs(resolved, ["/srv/app/src/job.ts", "/srv/app/storage"]), [
    "--allow-read=/srv/app/storage,/srv/app/src/job.ts",
    "--allow-net=127.0.0.1:6379,api.example.com:443,[::1]:8080",
    "--allow-env=APP_KEY,REDIS_URL",
    "--allow-sys=hostname",
  ]);
  const nothing = resolvePermissions({}, ROOT, "Job");
  assert.deepEqual(permissionArgs(nothing, []), []);
  assert.deepEqual(permissionArgs(nothing, ["/srv/app/job.ts"]), ["--allow-read=/srv/app/job.ts"]);
  assert.throws(() => permissionArgs(nothing, ["/srv/app/a,b.ts"]), /has a comma/);
});

Deno.test("coverage: a root covers itself and what is below it, not a sibling prefix", () => {
  assert.ok(isCoveredBy("/srv/app/storage", ["/srv/app/storage"]));
  assert.ok(isCoveredBy("/srv/app/storage/a/b.txt", ["/tmp", "/srv/app/storage"]));
  assert.ok(!isCoveredBy("/srv/app/storage2/x", ["/srv/app/storage"]));
  assert.ok(!isCoveredBy("/srv/app", ["/srv/app/storage"]));
  assert.ok(!isCoveredBy("/srv/x", []));
});

Deno.test("graph: static runtime imports are followed; type-only, dynamic and remote ones are not", () => {
  const info = {
    roots: ["file:///app/job.ts"],
    modules: [
      {
        specifier: "file:///app/job.ts",
        local: "/app/job.ts",
        dependencies: [
          { specifier: "./lib.ts", code: { specifier: "file:///app/lib.ts" } },
          { specifier: "./types.ts", type: { specifier: "file:///app/types.ts" } },
          { specifier: "./lazy.ts", code: { specifier: "file:///app/lazy.ts" }, isDynamic: true },
          { specifier: "npm:ms", code: { specifier: "npm:ms@2" } },
          { specifier: "./moved.ts", code: { specifier: "file:///app/moved.ts" } },
        ],
      },
      {
        specifier: "file:///app/lib.ts",
        local: "/app/lib.ts",
        dependencies: [{ specifier: "./data.json", code: { specifier: "file:///app/data.json" } }],
      },
      { specifier: "file:///app/data.json", local: "/app/data.json" },
      { specifier: "file:///app/types.ts", local: "/app/types.ts" },
      { specifier: "file:///app/lazy.ts", local: "/app/lazy.ts" },
      { specifier: "file:///app/new.ts", error: 'Module not found "file:///app/new.ts".' },
    ],
    redirects: { "file:///app/moved.ts": "file:///app/new.ts" },
  };
  assert.deepEqual(parseGraphFiles(JSON.stringify(info)), [
    "/app/data.json",
    "/app/job.ts",
    "/app/lib.ts",
    "/app/new.ts",
  ]);
});

Deno.test("lines: split across chunks and inside a UTF-8 character, last line kept, long lines cut", async () => {
  const bytes = new TextEncoder().encode("héllo\nwör");
  const chunks = [
    bytes.slice(0, 2),
    bytes.slice(2, 8),
    bytes.slice(8),
    new TextEncoder().encode("ld\n\nend"),
  ];
  assert.deepEqual(await Array.fromAsync(readLines(ReadableStream.from(chunks))), [
    "héllo",
    "wörld",
    "",
    "end",
  ]);
  const long = ReadableStream.from([new TextEncoder().encode("abcdefghij\n")]);
  assert.deepEqual(await Array.fromAsync(readLines(long, 4)), ["abcdefghij"]);
  const unterminated = ReadableStream.from([new TextEncoder().encode("abcdefghij")]);
  assert.deepEqual(await Array.fromAsync(readLines(unterminated, 4)), ["abcd", "efgh", "ij"]);
});
