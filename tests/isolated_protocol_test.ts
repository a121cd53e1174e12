/** Pure parts of the subprocess executor: frames, commands, denial messages, outcome decisions. */
import assert from "node:assert/strict";
import {
  ChildCrashedError,
  MemoryLimitExceededError,
  PermissionDeniedError,
} from "../src/errors.ts";
import { type ChildRunFacts, decideOutcome } from "../src/executor/child_outcome.ts";
import { findDenial, permissionDeniedError } from "../src/executor/denial_message.ts";
import {
  type ChildFrame,
  encodeFrame,
  encodePingCommand,
  encodeRunCommand,
  parseCommand,
  parseFrameBody,
} from "../src/executor/protocol.ts";

Deno.test("frames: every frame and result kind round-trips; anything else is refused", () => {
  const nonce = "ab".repeat(16);
  const results = [
    { kind: "success" },
    { kind: "timeout" },
    { kind: "released", delaySeconds: 12.5 },
    { kind: "error", error: { name: "Error", message: "x", stack: "Error: x\n  at y" } },
    { kind: "failed", error: { name: "E", message: "m", cause: { name: "C", message: "c" } } },
  ] as const;
  const frames: ChildFrame[] = [
    { type: "ready" },
    { type: "start-failed", error: { name: "TypeError", message: "t" } },
    { type: "pong", seq: 3 },
    ...results.map((result, seq) => ({ type: "result", seq, result }) as const),
    { type: "result", seq: 9, result: { kind: "success" }, last: true },
  ];
  for (const frame of frames) {
    const line = encodeFrame(nonce, frame);
    assert.ok(line.startsWith(`${nonce} `) && line.endsWith("\n"));
    assert.deepEqual(parseFrameBody(line.slice(nonce.length, -1)), frame);
  }
  for (
    const body of [
      '{"type":"ready"}',
      " not json",
      " []",
      ' {"type":"won"}',
      ' {"type":"result","seq":1,"result":{"kind":"won"}}',
      ' {"type":"result","result":{"kind":"success"}}',
      ' {"type":"result","seq":-1,"result":{"kind":"success"}}',
      ' {"type":"result","seq":1,"result":{"kind":"released","delaySeconds":-1}}',
      ' {"type":"result","seq":1,"result":{"kind":"released"}}',
      ' {"type":"result","seq":1,"result":{"kind":"error","error":"text"}}',
      ' {"type":"result","seq":1,"result":{"kind":"failed","error":{"name":1,"message":"m"}}}',
      ' {"type":"pong"}',
      ' {"type":"start-failed"}',
    ]
  ) {
    assert.throws(() => parseFrameBody(body), TypeError, body);
  }
});

Deno.test("commands: run and ping lines round-trip; the job JSON is passed on untouched", () => {
  const job = { jobName: "J", attempt: 2, jobId: "7", uuid: "u", queue: "q", connection: "c" };
  const line = encodeRunCommand(41, 1500, { ...job, mode: "handle", command: "a b\nc" });
  assert.ok(line.endsWith("\n") && line.indexOf("\n") === line.length - 1, "one line");
  const run = parseCommand(line.slice(0, -1));
  assert.equal(run?.type, "run");
  assert.ok(run?.type === "run");
  assert.equal(run.seq, 41);
  assert.equal(run.timeoutMs, 1500);
  assert.deepEqual(JSON.parse(run.json), { ...job, mode: "handle", command: "a b\nc" });
  assert.deepEqual(parseCommand(encodePingCommand(5).trim()), { type: "ping", seq: 5 });
  for (const bad of ["", "x 1", "r", "r 1", "r a 1 {}", "r 1 -5 {}", "p x"]) {
    assert.equal(parseCommand(bad), undefined, bad);
  }
});

Deno.test("denials: Deno's sentence is found in the cause chain and rewritten per kind", () => {
  const cases: [string, string][] = [
    [
      'Requires read access to "/etc/passwd", run again with the --allow-read flag',
      'ReadSecret may not read "/etc/passwd": add it to permissions.read (Deno: Requires read access to "/etc/passwd", run again with the --allow-read flag)',
    ],
    [
      'Requires net access to "localhost:6379", run again with the --allow-net flag',
      'ReadSecret may not connect to "localhost:6379": add it to permissions.net (Deno treats localhost and 127.0.0.1 as different hosts) (Deno: Requires net access to "localhost:6379", run again with the --allow-net flag)',
    ],
    [
      "Requires env access, run again with the --allow-env flag",
      "ReadSecret may not read the whole environment: declare each variable it needs in permissions.env (reading them all is never granted) (Deno: Requires env access, run again with the --allow-env flag)",
    ],
    [
      'Requires import access to "deno.land:443", run again with the --allow-import flag',
      'ReadSecret may not import from "deno.land:443": isolated jobs load only local modules and cached npm packages (Deno: Requires import access to "deno.land:443", run again with the --allow-import flag)',
    ],
  ];
  for (const [denoMessage, expected] of cases) {
    const denial = findDenial({
      name: "Error",
      message: "wrapped",
      cause: {
        name: "NotCapable",
        message: denoMessage,
        stack: `NotCapable: ${denoMessage}\n    at handle (file:///app/job.ts:3:7)`,
      },
    });
    assert.ok(denial, denoMessage);
    const error = permissionDeniedError("ReadSecret", denial);
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(error.message, expected);
    assert.match(
      error.stack ?? "",
      /^PermissionDeniedError: .*\n {4}at handle \(file:\/\/\/app\/job\.ts:3:7\)$/,
    );
  }
  assert.equal(findDenial({ name: "Error", message: "Requires patience" }), undefined);
});

function facts(overrides: Partial<ChildRunFacts>): ChildRunFacts {
  return {
    jobName: "Job",
    moduleUrl: "file:///app/job.ts",
    timeoutMs: 1500,
    memoryLimitMb: 128,
    status: { success: false, code: 1, signal: null },
    stderrTail: [],
    heapExhausted: false,
    peakRssMb: 0,
    ...overrides,
  };
}

Deno.test("decision: each verdict and exit maps to one outcome kind", () => {
  const killed = { success: false, code: 137, signal: "SIGKILL" } as const;
  const table: [Partial<ChildRunFacts>, string, RegExp?][] = [
    [{
      verdict: { type: "result", result: { kind: "success" } },
      status: { success: true, code: 0, signal: null },
    }, "success"],
    [
      { verdict: { type: "timeout" }, status: killed },
      "timeout",
      /^Job has timed out after 1\.5 s and was killed/,
    ],
    [{ verdict: { type: "result", result: { kind: "timeout" } } }, "timeout"],
    [
      { verdict: { type: "memory", rssMb: 140, peakMb: 141.4 }, status: killed },
      "memory",
      /^Job used 141 MB of memory \(RSS\), over its memoryLimit of 128 MB/,
    ],
    [{ verdict: { type: "shutdown" }, status: killed }, "crashed", /forced shutdown/],
    [
      { verdict: { type: "protocol", reason: "it wrote a second result frame" } },
      "crashed",
      /broke the protocol: it wrote a second result frame/,
    ],
    [
      { status: { success: false, code: 133, signal: "SIGTRAP" } },
      "memory",
      /JavaScript heap reached the heap limit set by its memoryLimit of 128 MB/,
    ],
    [{ heapExhausted: true, peakRssMb: 150 }, "memory", /peak RSS 150 MB/],
    [
      { status: { success: false, code: 133, signal: null } },
      "crashed",
      /exited with code 133 without/,
    ],
    [
      { status: { success: false, code: 3, signal: null }, stderrTail: ["", "oops"] },
      "crashed",
      /exited with code 3 without reporting a result; last stderr:\n {2}oops$/,
    ],
    [{ status: killed }, "crashed", /was killed by SIGKILL/],
    [{ status: { success: false, code: 81, signal: null } }, "crashed", /its stdin was closed/],
    [
      {
        verdict: {
          type: "result",
          result: {
            kind: "error",
            error: {
              name: "NotCapable",
              message: 'Requires run access to "/bin/sh", run again with the --allow-run flag',
            },
          },
        },
      },
      "denied",
      /^Job may not run "\/bin\/sh"/,
    ],
    [
      {
        verdict: {
          type: "start-failed",
          error: { name: "SyntaxError", message: "Unexpected token" },
        },
      },
      "crashed",
      /^Could not load Job from file:\/\/\/app\/job\.ts: SyntaxError: Unexpected token$/,
    ],
    [
      {
        verdict: {
          type: "start-failed",
          error: {
            name: "TypeError",
            message: 'Requires read access to "/etc/hostname", run again',
          },
        },
      },
      "denied",
      /^Job may not read "\/etc\/hostname"/,
    ],
    [
      { verdict: { type: "start-timeout", ms: 2500 } },
      "crashed",
      /^Job's child did not finish loading file:\/\/\/app\/job\.ts within 2\.5 s/,
    ],
    [
      { status: { success: false, code: 1, signal: null }, duringStart: true },
      "crashed",
      /^Job's child exited with code 1 while loading the job$/,
    ],
  ];
  for (const [overrides, kind, message] of table) {
    const outcome = decideOutcome(facts(overrides));
    assert.equal(outcome.kind, kind, JSON.stringify(overrides));
    if (message) assert.match("error" in outcome ? outcome.error.message : "", message);
  }
  const memory = decideOutcome(facts({ heapExhausted: true }));
  assert.ok(memory.kind === "memory" && memory.error instanceof MemoryLimitExceededError);
  const crash = decideOutcome(facts({}));
  assert.ok(crash.kind === "crashed" && crash.error instanceof ChildCrashedError);
});

Deno.test("spawn limiter: a burst of `burst` spawns, then one per 1/rate s", async () => {
  const { SpawnLimiter } = await import("../src/executor/spawn_limiter.ts");
  let now = 0;
  const limiter = new SpawnLimiter(4, 2, () => now); // 4 a second, 2 at once
  assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 250, "the third waits a quarter second");
  now = 100;
  assert.equal(limiter.take(), 150);
  now = 250;
  assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 250);
  now = 10_000; // a long pause refills to the burst, not beyond
  assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 0);
  assert.ok(limiter.take() > 0);
});

Deno.test("pool options: defaults, and one clear RangeError per bad field", async () => {
  const { resolvePoolOptions } = await import("../src/executor/pool_options.ts");
  const defaults = resolvePoolOptions(undefined, 3);
  assert.equal(defaults.maxJobsPerChild, 1);
  assert.equal(defaults.min, 1);
  assert.equal(defaults.max, 4);
  assert.equal(defaults.idleTimeout, 60);
  for (
    const [options, message] of [
      [
        { maxJobsPerChild: 0 },
        /'pool\.maxJobsPerChild' must be a positive integer: current value is 0/,
      ],
      [{ min: -1 }, /'pool\.min' must be a non-negative integer/],
      [{ max: 1.5 }, /'pool\.max' must be a positive integer/],
      [{ spawnRate: 0 }, /'pool\.spawnRate' must be a positive number/],
      [{ idleTimeout: Number.NaN }, /'pool\.idleTimeout' must be a non-negative number/],
      [{ min: 5, max: 2 }, /'pool\.min' \(5\) must not exceed 'pool\.max' \(2\)/],
    ] as const
  ) {
    assert.throws(() => resolvePoolOptions(options, 3), RangeError);
    assert.throws(() => resolvePoolOptions(options, 3), message);
  }
});
