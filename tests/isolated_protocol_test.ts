/** Pure parts of the subprocess executor: frames, denial messages, outcome decisions, the supervisor. */
import assert from "node:assert/strict";
import {
  ChildCrashedError,
  MemoryLimitExceededError,
  PermissionDeniedError,
} from "../src/errors.ts";
import { type ChildRunFacts, decideOutcome } from "../src/executor/child_outcome.ts";
import type { SpawnedChild } from "../src/executor/child_process.ts";
import { superviseChild } from "../src/executor/child_supervisor.ts";
import { findDenial, permissionDeniedError } from "../src/executor/denial_message.ts";
import { encodeFrame, parseFrameBody } from "../src/executor/protocol.ts";
import { jobRequest } from "./isolated_helpers.ts";

Deno.test("frames: every result kind round-trips; anything else is refused", () => {
  const nonce = "ab".repeat(16);
  const results = [
    { kind: "success" },
    { kind: "timeout" },
    { kind: "released", delaySeconds: 12.5 },
    { kind: "error", error: { name: "Error", message: "x", stack: "Error: x\n  at y" } },
    { kind: "failed", error: { name: "E", message: "m", cause: { name: "C", message: "c" } } },
    { kind: "load-failed", error: { name: "TypeError", message: "t" } },
  ] as const;
  for (const result of results) {
    const line = encodeFrame(nonce, result);
    assert.ok(line.startsWith(`${nonce} `) && line.endsWith("\n"));
    assert.deepEqual(parseFrameBody(line.slice(nonce.length, -1)), result);
  }
  for (
    const body of [
      '{"kind":"success"}',
      " not json",
      " []",
      ' {"kind":"won"}',
      ' {"kind":"released","delaySeconds":-1}',
      ' {"kind":"released"}',
      ' {"kind":"error","error":"text"}',
      ' {"kind":"failed","error":{"name":1,"message":"m"}}',
    ]
  ) {
    assert.throws(() => parseFrameBody(body), TypeError, body);
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
          type: "result",
          result: {
            kind: "load-failed",
            error: { name: "SyntaxError", message: "Unexpected token" },
          },
        },
      },
      "crashed",
      /^Could not load Job from file:\/\/\/app\/job\.ts: SyntaxError: Unexpected token$/,
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

/** A child whose stdout the test writes; it "exits" when stdout closes. */
function fakeChild(stdoutText: string) {
  const signals: Deno.Signal[] = [];
  let exit!: (status: Deno.CommandStatus) => void;
  const status = new Promise<Deno.CommandStatus>((resolve) => exit = resolve);
  const stdout = ReadableStream.from([new TextEncoder().encode(stdoutText)]).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush: () => exit({ success: true, code: 0, signal: null }),
    }),
  );
  const stdinChunks: Uint8Array[] = [];
  const child: SpawnedChild = {
    pid: 2 ** 22 + 1, // above pid_max on stock kernels: the RSS poll finds nothing
    status,
    stdin: new WritableStream({ write: (chunk) => void stdinChunks.push(chunk) }),
    stdout,
    stderr: ReadableStream.from([]),
    exited: false,
    killGroup: (signal) => void signals.push(signal),
    terminate: () => void signals.push("SIGTERM"),
  };
  return { child, signals, stdinChunks };
}

Deno.test("supervisor: one frame is the result; a second frame or garbage after the nonce is a protocol break", async () => {
  const nonce = "cd".repeat(16);
  const setup = { request: jobRequest("basic_jobs.ts", "NoopJob"), graceMs: 10, revokeReads: [] };
  const run = async (stdoutText: string) => {
    const fake = fakeChild(stdoutText);
    const lines: string[] = [];
    const result = await superviseChild(fake.child, {
      nonce,
      setup,
      killGraceMs: 10,
      rssPollMs: 1000,
      onOutput: (_stream, line) => lines.push(line),
    });
    return { ...result, ...fake, lines };
  };

  const ok = await run(`hello\npartial ${encodeFrame(nonce, { kind: "success" })}`);
  assert.deepEqual(ok.verdict, { type: "result", result: { kind: "success" } });
  assert.deepEqual(ok.lines, ["hello", "partial "]);
  const sent = new TextDecoder().decode(ok.stdinChunks[0]);
  assert.equal(sent, `${nonce}\n${JSON.stringify(setup)}\n`);

  const twice = await run(
    encodeFrame(nonce, { kind: "error", error: { name: "E", message: "m" } }) +
      encodeFrame(nonce, { kind: "success" }),
  );
  assert.deepEqual(twice.verdict, { type: "protocol", reason: "it wrote a second result frame" });
  assert.ok(twice.signals.includes("SIGKILL"));

  const garbage = await run(`${nonce} {"kind":"success"\n`);
  assert.equal(garbage.verdict?.type, "protocol");
  assert.match(
    garbage.verdict?.type === "protocol" ? garbage.verdict.reason : "",
    /unreadable \(the frame is not JSON\)/,
  );

  const none = await run("just output\n");
  assert.equal(none.verdict, undefined);
});
