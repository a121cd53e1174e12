/**
 * The daemon itself under narrowed Deno permissions (SECURITY.md, "Running
 * the daemon with narrowed permissions"): exactly the flags documented there,
 * for a SQLite and a Redis daemon, run inline and isolated jobs; and an inline
 * job is held to them (it runs with the daemon's permissions).
 */
import { configEnvNames } from "../src/config/env.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { prepareDispatch } from "../src/dispatch.ts";
import type { JobClass } from "../src/jobs/job.ts";
import { openConnection } from "../src/mod.ts";
import { BenignInline, BenignIsolated, BenignLimited } from "./fixtures/hostile/benign.ts";
import { InlineReadFile } from "./fixtures/hostile/inline_read_file.ts";
import { DaemonProcess, isEvent } from "./helpers/daemon_process.ts";
import { RedisServer } from "./redis_fixtures/redis_server.ts";

const SRC_DIR = new URL("../src", import.meta.url).pathname;
/** Every variable KQueue's config reads (src/config/env.ts), and DENO_DIR for the children. */
const ENV_NAMES = [...configEnvNames(), "DENO_DIR"];

interface App {
  readonly dir: string;
  readonly database: string;
  cleanup(): Promise<void>;
}

/** app/jobs/ with the benign fixtures (importing KQueue by absolute URL), and a db/ folder. */
async function tempApp(): Promise<App> {
  const root = await Deno.makeTempDir({ prefix: "kqueue-narrow-" });
  const dir = join(root, "app");
  await Deno.mkdir(join(dir, "jobs"), { recursive: true });
  await Deno.mkdir(join(dir, "storage", "out"), { recursive: true });
  await Deno.mkdir(join(root, "db"));
  const src = new URL("../src/", import.meta.url).href;
  for (const file of ["benign.ts", "inline_read_file.ts"]) {
    const text = await Deno.readTextFile(new URL(`./fixtures/hostile/${file}`, import.meta.url));
    await Deno.writeTextFile(join(dir, "jobs", file), text.replaceAll('"../../../src/', `"${src}`));
  }
  return { dir, database: join(root, "db"), cleanup: () => Deno.remove(root, { recursive: true }) };
}

async function runNarrowed(
  app: App,
  env: Record<string, string>,
  permissions: string[],
): Promise<DaemonProcess> {
  const connection = await openConnection({ env: (name) => env[name] });
  const jobs: [JobClass, Record<string, unknown>][] = [
    [BenignInline, { n: 1 }],
    [BenignIsolated, { n: 2 }],
    [BenignLimited, {}],
    [InlineReadFile, { path: "/etc/passwd" }],
    [InlineReadFile, { path: join(app.dir, "jobs", "benign.ts") }],
  ];
  try {
    for (const [Class, data] of jobs) {
      await connection.driver.push("default", prepareDispatch(Class, data).payload);
    }
  } finally {
    await connection.close();
  }
  const daemon = new DaemonProcess(
    ["work", "--json", "--jobs", join(app.dir, "jobs"), "--stop-when-drained", "--sleep=1"],
    env,
    { cwd: app.dir, permissions },
  );
  const status = await daemon.finished(60_000);
  assert.equal(status.code, 0, daemon.stderr.join("\n"));
  return daemon;
}

function assertRan(daemon: DaemonProcess, app: App): Promise<void> {
  const done = daemon.events.filter(isEvent("job:done")).map((e) => e.job!.name).sort();
  assert.deepEqual(done, ["BenignInline", "BenignIsolated", "BenignLimited", "InlineReadFile"]);
  const denied = daemon.events.find(isEvent("job:failed", "InlineReadFile"))!;
  assert.match(denied.error!.message, /Requires read access to "\/etc\/passwd"/);
  return Deno.readTextFile(join(app.dir, "storage/out/benign-2.txt")).then((text) =>
    assert.equal(text, "2")
  );
}

Deno.test("narrowed daemon: SQLite with --allow-read=app,src,db,/proc --allow-write=db --allow-run --allow-env=<list> runs inline and isolated jobs", async () => {
  const app = await tempApp();
  try {
    const env = {
      QUEUE_CONNECTION: "database",
      DB_CONNECTION: "sqlite",
      DB_DATABASE: join(app.database, "database.sqlite"),
    };
    const daemon = await runNarrowed(app, env, [
      `--allow-read=${app.dir},${SRC_DIR},${app.database},/proc`,
      `--allow-write=${app.database}`,
      "--allow-run",
      `--allow-env=${ENV_NAMES.join(",")}`,
    ]);
    await assertRan(daemon, app);

    // Without /proc a memoryLimit could not be enforced: refused at start-up, not ignored.
    const noProc = new DaemonProcess(
      ["work", "--jobs", join(app.dir, "jobs"), "--stop-when-drained"],
      env,
      {
        cwd: app.dir,
        permissions: [
          `--allow-read=${app.dir},${SRC_DIR},${app.database}`,
          `--allow-write=${app.database}`,
          "--allow-run",
          `--allow-env=${ENV_NAMES.join(",")}`,
        ],
      },
    );
    assert.equal((await noProc.finished()).code, 2);
    assert.match(
      noProc.stderr.join("\n"),
      /BenignLimited has memoryLimit = 128, which needs the daemon to read \/proc .*: add \/proc to the daemon's --allow-read/,
    );
  } finally {
    await app.cleanup();
  }
});

Deno.test("narrowed daemon: Redis with --allow-net=<host:port> and an unscoped --allow-env (ioredis) runs inline and isolated jobs", async () => {
  const app = await tempApp();
  const server = await RedisServer.start();
  try {
    const env = server.env({ DB_DATABASE: join(app.database, "failed.sqlite") });
    const daemon = await runNarrowed(app, env, [
      `--allow-read=${app.dir},${SRC_DIR},${app.database},/proc`,
      `--allow-write=${app.database}`,
      "--allow-run",
      // ioredis's `debug` lists process.env: a scoped --allow-env stops the daemon at start.
      "--allow-env",
      `--allow-net=127.0.0.1:${server.port}`,
    ]);
    await assertRan(daemon, app);
  } finally {
    await server.stop();
    await app.cleanup();
  }
});

Deno.test("narrowed daemon: SECURITY.md's --allow-env list is every variable the config reads", async () => {
  const security = await Deno.readTextFile(new URL("../SECURITY.md", import.meta.url));
  const listed = security.match(/--allow-env=([A-Z0-9_,]+)/)?.[1]?.split(",");
  assert.deepEqual(
    listed?.toSorted(),
    ENV_NAMES.toSorted(),
    "update SECURITY.md's --allow-env line",
  );
});
