import assert from "node:assert/strict";
import { FIXTURE_JOBS } from "./helpers/daemon_process.ts";
import { tempQueue } from "./helpers/temp_project.ts";

const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;

async function kqueue(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    // --quiet: on a cold cache Deno prints its own "Download …" lines, which are not KQueue's output.
    args: ["run", "--quiet", "-A", CLI, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("cli: bad input gets one line naming the problem, exit code 2", async () => {
  const q = await tempQueue();
  try {
    const env = q.env();
    const cases: Array<[string[], RegExp]> = [
      [["frobnicate"], /Unknown command 'frobnicate'/],
      [
        ["work", "--concurrency=0", "--jobs", FIXTURE_JOBS],
        /--concurrency=0 is not valid: it must be a positive integer/,
      ],
      [
        ["work", "--sleep=0", "--jobs", FIXTURE_JOBS],
        /--sleep=0 is not valid: it is only the longest idle wait .*use 3 \(the default\)/,
      ],
      [["work", "--nope"], /Unknown option '--nope' for 'work'/],
      [
        ["work", "--allow-unscoped=", "--jobs", FIXTURE_JOBS],
        /--allow-unscoped= is not valid: use names like .*\(job names\)/,
      ],
      [
        ["dispatch", "CountProbe", '{"n":"seven"}', "--jobs", FIXTURE_JOBS],
        /"n" is a number field \(by its default\), got a string/,
      ],
      [["work", "--jobs", "/nonexistent/jobs"], /Cannot load jobs from \/nonexistent\/jobs/],
      [["dispatch", "NoSuchJob", "--jobs", FIXTURE_JOBS], /Unknown job "NoSuchJob" .*known: /],
      [["dispatch", "CountProbe", "{bad json", "--jobs", FIXTURE_JOBS], /not valid JSON/],
      [["dispatch", "CountProbe", '{"nope":1}', "--jobs", FIXTURE_JOBS], /has no field "nope"/],
      [
        ["dispatch", "CountProbe", '{"tries":5}', "--jobs", FIXTURE_JOBS],
        /"tries" is config, not data/,
      ],
      [["dispatch", "CountProbe", "--delay=-1", "--jobs", FIXTURE_JOBS], /--delay=-1 is not valid/],
      [
        ["dispatch", "CountProbe", "--queue=a,b", "--jobs", FIXTURE_JOBS],
        /a queue name has no commas/,
      ],
      [
        ["dispatch", "CountProbe", "--jobs", FIXTURE_JOBS, "--database", `${q.dir}/not-a-db.txt`],
        /not-a-db\.txt/,
      ],
    ];
    await Deno.writeTextFile(
      `${q.dir}/not-a-db.txt`,
      "this is not an sqlite file, just some text to fail on\n".repeat(20),
    );
    for (const [args, message] of cases) {
      const result = await kqueue(args, env);
      assert.equal(
        result.code,
        2,
        `${args.join(" ")} → exit 2 (got ${result.code}: ${result.stderr})`,
      );
      assert.match(result.stderr, message, args.join(" "));
      assert.equal(
        result.stderr.split("\n").length,
        1,
        `one line for ${args.join(" ")}: ${result.stderr}`,
      );
    }
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: number flags and KQUEUE_*/Laravel variables take plain digits only; valid ones run as before", async () => {
  const q = await tempQueue();
  try {
    const work = (flags: string[]) => ["work", "--once", "--jobs", FIXTURE_JOBS, ...flags];
    const dispatch = (
      flags: string[],
    ) => ["dispatch", "CountProbe", "--jobs", FIXTURE_JOBS, ...flags];
    const seconds = "non-negative number of seconds, in plain digits \\(like 0, 30 or 2\\.5\\)";
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [
        work(["--timeout=0x10"]),
        {},
        new RegExp(`^kqueue: --timeout=0x10 is not valid: it must be a ${seconds}$`),
      ],
      [
        work(["--concurrency=1e3"]),
        {},
        /--concurrency=1e3 is not valid: it must be a positive integer, in plain digits \(like 4\)$/,
      ],
      [
        work(["--concurrency= 5"]),
        {},
        /--concurrency=" 5" is not valid: it must be a positive integer/,
      ],
      [work(["--tries=5.0"]), {}, /--tries=5\.0 is not valid: it must be a non-negative integer/],
      [work(["--isolated-concurrency=2.0"]), {}, /--isolated-concurrency=2\.0 is not valid/],
      [work(["--max-jobs=0x2"]), {}, /--max-jobs=0x2 is not valid/],
      [work(["--pool-min=1e0"]), {}, /--pool-min=1e0 is not valid/],
      [work(["--sleep=Infinity"]), {}, /--sleep=Infinity is not valid/],
      [work(["--lease=1e1"]), {}, /--lease=1e1 is not valid/],
      [
        work(["--retry-after=0x5A"]),
        {},
        /--retry-after=0x5A is not valid: it must be a positive number of seconds/,
      ],
      [
        work(["--backoff=1,0x10"]),
        {},
        /--backoff=1,0x10 is not valid: it must be seconds, or a list like 1,5,10/,
      ],
      [work(["--backoff=1, 5"]), {}, /--backoff="1, 5" is not valid/],
      [
        work([]),
        { KQUEUE_LEASE: "0x10" },
        new RegExp(`KQUEUE_LEASE=0x10 is not valid: it must be a ${seconds}$`),
      ],
      [work([]), { DB_QUEUE_RETRY_AFTER: "1e2" }, /DB_QUEUE_RETRY_AFTER=1e2 is not valid/],
      [dispatch(["--count=2.0"]), {}, /--count=2\.0 is not valid: it must be a positive integer/],
      [
        dispatch(["--count=1000000000"]),
        {},
        /^kqueue: --count=1000000000 is too many for one dispatch: use at most 1000000 /,
      ],
      [
        dispatch(["--delay=99999999999999999999"]),
        {},
        /^kqueue: --delay=99999999999999999999 is too long: it puts the job past unix time 4294967295 \(2106-02-07 06:28:15 UTC\).*: use at most \d+ seconds$/,
      ],
      [
        dispatch(["--delay=1e1"]),
        {},
        new RegExp(`--delay=1e1 is not valid: it must be a ${seconds}$`),
      ],
    ];
    const results = await Promise.all(cases.map(([args, env]) => kqueue(args, q.env(env))));
    cases.forEach(([args, , message], i) => {
      const { code, stderr } = results[i]!;
      const what = args.slice(-1).join(" ");
      assert.equal(code, 2, `${what}: exit 2 (got ${code}: ${stderr})`);
      assert.equal(stderr.split("\n").length, 1, `${what}: one line:\n${stderr}`);
      assert.match(stderr, message, what);
    });
    assert.deepEqual(await q.connection.driver.counts("default"), {
      ready: 0,
      delayed: 0,
      reserved: 0,
    });

    // Plain digits keep working as before: whole numbers, decimals, leading zeros, `.5`.
    const sent = await kqueue(dispatch(["--count=02", "--delay=1.5"]), q.env());
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /Dispatched 2 × CountProbe to database\/default, delay 1\.5 s/);
    const ran = await kqueue(
      work([
        "--timeout=2.5",
        "--sleep=.5",
        "--concurrency=007",
        "--tries=0",
        "--backoff=1,2.5",
        "--memory=256.5",
        "--lease=9",
        "--lease-renew=2.5",
      ]),
      q.env({ KQUEUE_LIVENESS_LIMIT: "4.5", DB_QUEUE_RETRY_AFTER: "90.5" }),
    );
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, /leases 9 s, renewed every 2\.5 s \(liveness limit 4\.5 s\)/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: dispatch --count pushes in batches and --delay may reach 2106, Laravel's last available_at", async () => {
  const q = await tempQueue();
  try {
    const lastSecond = 4294967295 - Math.ceil(Date.now() / 1000) - 60;
    const sent = await kqueue([
      "dispatch",
      "CountProbe",
      "--jobs",
      FIXTURE_JOBS,
      "--count=2500",
      `--delay=${lastSecond}`,
    ], q.env());
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /Dispatched 2500 × CountProbe to database\/default, delay \d+ s/);
    assert.deepEqual(await q.connection.driver.counts("default"), {
      ready: 0,
      delayed: 2500,
      reserved: 0,
    });
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: dispatch writes a Laravel-shaped payload; work --once runs it; failed lists nothing", async () => {
  const q = await tempQueue();
  try {
    const env = q.env();
    const file = `${q.dir}/out.txt`;
    const sent = await kqueue([
      "dispatch",
      "CountProbe",
      JSON.stringify({ file, n: 5 }),
      "--jobs",
      FIXTURE_JOBS,
      "--count=3",
      "--queue=mail",
    ], env);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /Dispatched 3 × CountProbe to database\/mail/);
    assert.deepEqual(await q.connection.driver.counts("mail"), {
      ready: 3,
      delayed: 0,
      reserved: 0,
    });
    const ran = await kqueue(["work", "--once", "--queue=mail", "--jobs", FIXTURE_JOBS], env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /\]\[\d+\] Processed: +CountProbe/);
    assert.equal((await Deno.readTextFile(file)).trim(), "5");
    assert.deepEqual(await q.connection.driver.counts("mail"), {
      ready: 2,
      delayed: 0,
      reserved: 0,
    });
    const failed = await kqueue(["failed"], env);
    assert.equal(failed.stdout, "No failed jobs.");
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: help lists the commands and the work flags", async () => {
  const help = await kqueue(["help"]);
  assert.equal(help.code, 0);
  for (const command of ["work", "dispatch", "failed", "create-tables"]) {
    assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
  }
  const work = await kqueue(["help", "work"]);
  assert.deepEqual(await kqueue(["work", "--help"]), work, "work --help is help work");
  assert.deepEqual(await kqueue(["retry", "-h"]), await kqueue(["help", "retry"]));
  for (
    const flag of [
      "--queue",
      "--concurrency",
      "--tries",
      "--timeout",
      "--backoff",
      "--memory",
      "--max-jobs",
      "--max-time",
      "--sleep",
      "--stop-when-empty",
      "--once",
      "--json",
      "--connection",
      "--jobs",
    ]
  ) {
    assert.match(work.stdout, new RegExp(flag));
  }
});

Deno.test("cli: a DB_DATABASE in a folder that does not exist, or :memory:, is refused instead of starting an empty queue", async () => {
  for (const path of ["/nonexistent/kqueue/dir/x.sqlite", ":memory:"]) {
    const result = await kqueue(["work", "--jobs", FIXTURE_JOBS], { DB_DATABASE: path });
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      path === ":memory:"
        ? /:memory: is private to one process/
        : /the folder \/nonexistent\/kqueue\/dir does not exist/,
    );
  }
  const exists = await Deno.stat("/nonexistent/kqueue").then(() => true, () => false);
  assert.equal(exists, false, "no folder was created");
});

Deno.test("cli: a store that cannot be reached at start-up exits 1 with one line (2 stays for bad input)", async () => {
  const q = await tempQueue();
  try {
    // A port nothing listens on: bound, then closed.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const env = q.env({
      QUEUE_CONNECTION: "redis",
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: `${port}`,
    });
    for (
      const args of [
        ["work", "--jobs", FIXTURE_JOBS, "--store-timeout=3"],
        ["dispatch", "CountProbe", "--jobs", FIXTURE_JOBS],
      ]
    ) {
      const result = await kqueue(args, env);
      assert.equal(result.code, 1, `${args[0]}: exit 1 (got ${result.code}: ${result.stderr})`);
      assert.match(
        result.stderr,
        new RegExp(`^kqueue: Cannot reach Redis at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
      );
      assert.equal(result.stderr.split("\n").length, 1, result.stderr);
    }
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: a flag given without its value says how to write it", async () => {
  const result = await kqueue(["work", "--concurrency", "--stop-when-empty"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--concurrency needs a value: write --concurrency=VALUE/);
});

/** Polls `until` every 100 ms for up to 10 s: for processes and files we cannot await. */
async function eventually(until: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await until()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out waiting until ${what}`);
}

const isAlive = (pid: number) => Deno.stat(`/proc/${pid}`).then(() => true, () => false);

for (
  const [how, args] of [
    ["npx deno task", ["task", "--quiet", "kqueue"]],
    ["npx deno run", ["run", "-A", CLI]],
  ] as const
) {
  Deno.test(`cli: under ${how}, when npx dies (a supervisor's SIGTERM), the daemon stops gracefully`, async () => {
    const q = await tempQueue();
    try {
      const npx = new Deno.Command("npx", {
        args: ["-y", `deno@${Deno.version.deno}`, ...args, "work", "--jobs", FIXTURE_JOBS],
        cwd: new URL("..", import.meta.url).pathname,
        env: { ...q.env(), NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        detached: true, // its own process group: the bound below can end the daemon with it
      }).spawn();
      const bound = setTimeout(() => Deno.kill(-npx.pid, "SIGKILL"), 20_000);
      const lines: string[] = [];
      let killed = false;
      // The daemon holds the stderr pipe: it ends when the daemon exits.
      for await (const chunk of npx.stderr.pipeThrough(new TextDecoderStream())) {
        lines.push(...chunk.split("\n"));
        if (!killed && lines.some((line) => /Processing jobs/.test(line))) {
          killed = true;
          npx.kill("SIGTERM");
        }
      }
      clearTimeout(bound);
      await npx.status;
      const text = lines.join("\n");
      assert.ok(killed, text);
      assert.match(text, /The process that started the daemon is gone/);
      assert.match(text, /Stopping \(signal\)/);
    } finally {
      await q.cleanup();
    }
  });
}

Deno.test("cli: a daemon started by a shell script (nohup … &) keeps running after the script exits", async () => {
  const q = await tempQueue();
  try {
    const log = `${q.dir}/daemon.log`;
    // The script waits until the daemon runs (so the daemon knew its parent), then exits.
    const script = `nohup "$DENO" run -A "$CLI" work --json --jobs "$JOBS" >"$LOG" 2>&1 & pid=$!
      until grep -q worker:started "$LOG" 2>/dev/null; do sleep 0.05; done; echo $pid`;
    const out = await new Deno.Command("sh", {
      args: ["-c", script],
      env: { ...q.env(), DENO: Deno.execPath(), CLI, JOBS: FIXTURE_JOBS, LOG: log, NO_COLOR: "1" },
    }).output();
    const pid = Number(new TextDecoder().decode(out.stdout).trim());
    assert.ok(pid > 0);
    try {
      const { dispatchTo } = await import("./helpers/temp_project.ts");
      const { LongProbe } = await import("./fixtures/jobs/probe_jobs.ts");
      const logged = (pattern: RegExp) => () =>
        Deno.readTextFile(log).then((text) => pattern.test(text), () => false);
      // The script has exited: the daemon is re-parented. A 1.5 s job outlasts the 1 s parent watch.
      await dispatchTo(q, LongProbe, { file: `${q.dir}/long.txt`, ms: 1500 });
      await eventually(logged(/"job:done"/), `the job was done:\n${await Deno.readTextFile(log)}`);
      assert.ok(await isAlive(pid), "still running");
      Deno.kill(pid, "SIGTERM");
      await eventually(async () => !(await isAlive(pid)), "the daemon exited on SIGTERM");
      const text = await Deno.readTextFile(log);
      assert.doesNotMatch(text, /The process that started the daemon is gone/);
      assert.match(text, /Received SIGTERM: finishing in-flight jobs/);
    } finally {
      if (await isAlive(pid)) Deno.kill(pid, "SIGKILL");
    }
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: retry pushes a failed job back (same uuid) and deletes its row; forget deletes rows", async () => {
  const q = await tempQueue();
  try {
    const { AlwaysFails } = await import("./fixtures/jobs/probe_jobs.ts");
    const { dispatchTo } = await import("./helpers/temp_project.ts");
    const { runToDrain } = await import("./helpers/daemon_process.ts");
    const env = q.env();
    await dispatchTo(q, AlwaysFails, { file: `${q.dir}/a.txt` }, { count: 2 });
    await runToDrain(env);
    const [first, second] = await q.connection.failed.list();
    assert.ok(first && second);
    const retried = await kqueue(["retry", first.uuid, "--jobs", FIXTURE_JOBS], env);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, new RegExp(`Retried ${first.uuid} on database/default`));
    assert.deepEqual((await q.connection.failed.list()).map((r) => r.uuid), [second.uuid]);
    const [job] = await q.connection.driver.reserve(["default"], 5);
    assert.equal(JSON.parse(job!.rawPayload).uuid, first.uuid, "the same job, by uuid");
    assert.equal(job!.attempts, 1, "a fresh row: attempts start again");
    const forgot = await kqueue(["forget", second.uuid, "nope"], env);
    assert.equal(forgot.stdout, `Forgot ${second.uuid}\nNo failed job with uuid nope`);
    assert.equal((await q.connection.failed.list()).length, 0);
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: an isolated job in a jobs folder outside the working directory is refused at start-up with the fix; from its folder it runs", async () => {
  const q = await tempQueue();
  const project = await Deno.makeTempDir({ prefix: "kqueue-elsewhere-" });
  try {
    await Deno.mkdir(`${project}/jobs`);
    const kqueueMod = new URL("../src/mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${project}/jobs/elsewhere.ts`,
      `import { KQueueJob } from "${kqueueMod}";\n` +
        `export class Elsewhere extends KQueueJob {\n  override isolated = true;\n  handle() {}\n}\n`,
    );
    const env = q.env();
    assert.equal(
      (await kqueue(["dispatch", "Elsewhere", "--jobs", `${project}/jobs`], env)).code,
      0,
    );
    // Run from this repo (not the job's project): the child could not load the module.
    const refused = await kqueue(["work", "--once", "--jobs", `${project}/jobs`], env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(
      refused.stderr,
      `kqueue: Cannot start worker as Elsewhere is isolated and its module ${project}/jobs/elsewhere.ts ` +
        `is outside the project root ${Deno.cwd()} (the daemon's working directory), so its child may ` +
        `not load it: start the daemon from your project's folder (cd there, then work --jobs ./jobs)`,
    );
    assert.equal((await q.connection.driver.counts("default")).ready, 1, "nothing was taken");
    const ran = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", CLI, "work", "--once", "--json", "--jobs", "./jobs"],
      cwd: project,
      env: { NO_COLOR: "1", ...env },
    }).output();
    const events = new TextDecoder().decode(ran.stdout).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(ran.code, 0, new TextDecoder().decode(ran.stderr));
    assert.equal(events.filter((e) => e.event === "job:done").length, 1);
  } finally {
    await q.cleanup();
    await Deno.remove(project, { recursive: true });
  }
});
