import assert from "node:assert/strict";
import { isEvent, runToDrain } from "./helpers/daemon_process.ts";
import { assertQueueEmpty, dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import { CountProbe } from "./fixtures/jobs/probe_jobs.ts";

const HANDLER = "Illuminate\\Queue\\CallQueuedHandler@call";

Deno.test("daemon: malformed payloads and unknown jobs fail with a clear reason; the daemon keeps running", async () => {
  const q = await tempQueue();
  try {
    const push = (text: string) => q.connection.driver.push("default", text);
    const badInputs: Array<[string, RegExp]> = [
      ["{not json", /not valid JSON/],
      ["[1,2,3]", /must be a JSON object/],
      [JSON.stringify({ uuid: crypto.randomUUID(), data: {} }), /no "job" handler/],
      [
        JSON.stringify({
          uuid: crypto.randomUUID(),
          displayName: "App\\Jobs\\Nope",
          job: HANDLER,
          data: { commandName: "App\\Jobs\\Nope", command: 'O:13:"App\\Jobs\\Nope":0:{}' },
        }),
        /No job named "App\\Jobs\\Nope" is registered/,
      ],
      [
        JSON.stringify({
          uuid: crypto.randomUUID(),
          displayName: "Tampered",
          job: HANDLER,
          data: {
            commandName: "Tampered",
            command: 'O:8:"Tampered":1:{s:5:"value";s:99:"short";}',
          },
        }),
        /PayloadError/,
      ],
      [
        JSON.stringify({
          uuid: crypto.randomUUID(),
          displayName: "Tampered",
          job: HANDLER,
          maxTries: "three",
          data: { commandName: "Tampered" },
        }),
        /"maxTries" must be a non-negative integer/,
      ],
      [
        JSON.stringify({ uuid: crypto.randomUUID(), job: "App\\Legacy@handle", data: [] }),
        /only .*CallQueuedHandler@call payloads/,
      ],
    ];
    for (const [text] of badInputs) await push(text);
    const file = `${q.dir}/good.txt`;
    await dispatchTo(q, CountProbe, { file, n: 7 });

    await runToDrain(q.env());
    assert.deepEqual(await readLines(file), ["7"], "the good job behind them ran");
    const rows = await q.connection.failed.list();
    assert.equal(rows.length, badInputs.length, "every bad job is in failed_jobs");
    for (const [text, reason] of badInputs) {
      const row = rows.find((r) => r.payload === text);
      assert.ok(row, `failed row for ${text.slice(0, 60)}`);
      assert.match(row.exception, reason);
      assert.match(row.uuid, /^[0-9a-f-]{36}$/, "a uuid is generated when the payload has none");
    }
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a jobs row whose available_at or reserved_at no worker can compare is failed naming the column and value", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/good.txt`;
    const [good] = await dispatchTo(q, CountProbe, { file, n: 1 });
    const [text, huge, reserved] = await dispatchTo(q, CountProbe, { file, n: 2 }, { count: 3 });
    const db = new (await import("node:sqlite")).DatabaseSync(q.databasePath);
    db.exec(`UPDATE jobs SET available_at = 'tomorrow' WHERE id = ${text}`);
    db.exec(`UPDATE jobs SET available_at = 9223372036854775807 WHERE id = ${huge}`);
    db.exec(`UPDATE jobs SET reserved_at = 'a while ago' WHERE id = ${reserved}`);
    const payloads = new Map(
      db.prepare("SELECT id, payload FROM jobs").all().map((row) => [String(row.id), row.payload]),
    );
    db.close();

    const daemon = await runToDrain(q.env());
    assert.deepEqual(await readLines(file), ["1"], "the good job ran, the bad rows did not");
    assert.equal(daemon.events.filter(isEvent("job:failed", "CountProbe")).length, 3);
    const rows = await q.connection.failed.list();
    const reasonOf = (id: string) =>
      rows.find((row) => row.payload === payloads.get(id))?.exception;
    assert.match(
      reasonOf(text!)!,
      new RegExp(`^PayloadError: Row ${text} of jobs has available_at 'tomorrow', not a unix time`),
    );
    assert.match(
      reasonOf(huge!)!,
      new RegExp(
        `^PayloadError: Row ${huge} of jobs has available_at 9223372036854775807, past any`,
      ),
    );
    assert.match(
      reasonOf(reserved!)!,
      new RegExp(
        `^PayloadError: Row ${reserved} of jobs has reserved_at 'a while ago', not a unix`,
      ),
    );
    assert.equal(reasonOf(good!), undefined);
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a payload cannot switch a job's isolation or permissions", async () => {
  const q = await tempQueue();
  try {
    const command =
      'O:8:"Tampered":3:{s:5:"value";s:2:"ok";s:8:"isolated";b:1;s:11:"permissions";a:1:{s:4:"read";a:1:{i:0;s:1:"/";}}}';
    await q.connection.driver.push(
      "default",
      JSON.stringify({
        uuid: crypto.randomUUID(),
        displayName: "Tampered",
        job: HANDLER,
        data: { commandName: "Tampered", command },
      }),
    );
    const daemon = await runToDrain(q.env());
    const started = daemon.events.find(isEvent("job:started", "Tampered"))!;
    assert.equal(
      started.isolated,
      false,
      "the class says inline; the payload's isolated/permissions are ignored",
    );
    assert.equal(daemon.events.filter(isEvent("job:done")).length, 1);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a job's stray throw or unawaited rejection is reported; the daemon and other jobs go on", async () => {
  const q = await tempQueue();
  try {
    const { LongProbe, StrayErrors } = await import("./fixtures/jobs/probe_jobs.ts");
    const file = `${q.dir}/long.txt`;
    await dispatchTo(q, LongProbe, { file, ms: 800 });
    await dispatchTo(q, StrayErrors);
    const daemon = await runToDrain(q.env());
    const uncaught = daemon.events.filter(isEvent("worker:uncaught"));
    assert.deepEqual(uncaught.map((e) => e.error!.message).sort(), [
      "late rejection",
      "late timer throw",
    ]);
    assert.deepEqual(await readLines(file), ["start 1", "end 1"], "the other job finished");
    assert.equal(daemon.events.filter(isEvent("job:done")).length, 2);
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a thrown plain object keeps its name and message; a BLOB payload row is read as text", async () => {
  const q = await tempQueue();
  try {
    const { ThrowsObject, CountProbe: Count } = await import("./fixtures/jobs/probe_jobs.ts");
    await dispatchTo(q, ThrowsObject);
    const file = `${q.dir}/blob.txt`;
    const { prepareDispatch } = await import("../src/dispatch.ts");
    const blob = new TextEncoder().encode(prepareDispatch(Count, { file, n: 3 }).payload);
    const db = new (await import("node:sqlite")).DatabaseSync(q.databasePath);
    db.prepare(
      "INSERT INTO jobs (queue, payload, attempts, available_at, created_at) VALUES ('default', ?, 0, 0, 0)",
    )
      .run(blob);
    db.close();
    const daemon = await runToDrain(q.env());
    const failed = daemon.events.find(isEvent("job:failed", "ThrowsObject"))!;
    assert.deepEqual(failed.error, { name: "ApiError", message: "quota exceeded" });
    assert.deepEqual(await readLines(file), ["3"], "the BLOB row ran");
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: --unknown-jobs=leave puts a job with no KQueue class back untouched, for another worker", async () => {
  const q = await tempQueue();
  try {
    const text = JSON.stringify({
      uuid: crypto.randomUUID(),
      displayName: "App\\Jobs\\PhpOnly",
      job: HANDLER,
      data: { commandName: "App\\Jobs\\PhpOnly", command: 'O:16:"App\\Jobs\\PhpOnly":0:{}' },
    });
    await q.connection.driver.push("default", text);
    const file = `${q.dir}/ok.txt`;
    await dispatchTo(q, CountProbe, { file, n: 1 });
    const before = Math.floor(Date.now() / 1000);
    const daemon = await runToDrain(q.env(), [
      "--unknown-jobs=leave",
      "--unknown-delay=30",
      "--stop-when-empty",
    ]);
    const requeued = daemon.events.find(isEvent("job:requeued"))!;
    assert.match(
      String(requeued.reason),
      /no KQueue job is registered as App\\Jobs\\PhpOnly: left for another worker, due again in 30 s/,
    );
    assert.equal((await q.connection.failed.list()).length, 0, "not failed");
    assert.deepEqual(await readLines(file), ["1"]);
    const db = new (await import("node:sqlite")).DatabaseSync(q.databasePath);
    const row = db.prepare("SELECT payload, attempts, reserved_at, available_at FROM jobs")
      .get() as Record<string, unknown>;
    db.close();
    assert.equal(row.payload, text, "the payload untouched");
    assert.equal(row.attempts, 0, "the attempt was not counted");
    assert.equal(row.reserved_at, null);
    assert.ok(Number(row.available_at) >= before + 30, "not due again for 30 s");
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a payload holding a raw NUL byte is failed with its whole text in failed_jobs (node:sqlite cuts TEXT at NUL)", async () => {
  const q = await tempQueue();
  try {
    const text = `{"uuid":"${crypto.randomUUID()}","job":"${
      HANDLER.replaceAll("\\", "\\\\")
    }","data":{"command":"a\u0000b"}} and more after the NUL`;
    await q.connection.driver.push("default", text);
    const daemon = await runToDrain(q.env());
    assert.equal(daemon.events.filter(isEvent("job:failed")).length, 1);
    const [row] = await q.connection.failed.list();
    assert.equal(row!.payload, text, "nothing after the NUL is lost");
    assert.match(row!.exception, /Bad control character in string literal/);
    assert.equal((await q.connection.failed.find(row!.uuid))!.payload, text);
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a class name from the payload cannot forge log lines or send terminal escapes", async () => {
  const q = await tempQueue();
  try {
    const name = "Evil\n2026-01-01 00:00:00.000 [INF] kqueue: forged\u001b[2J";
    await q.connection.driver.push(
      "default",
      JSON.stringify({
        uuid: crypto.randomUUID(),
        job: HANDLER,
        data: { commandName: name, command: 'O:4:"Evil":0:{}' },
      }),
    );
    const { DaemonProcess, FIXTURE_JOBS } = await import("./helpers/daemon_process.ts");
    const daemon = new DaemonProcess(
      ["work", "--jobs", FIXTURE_JOBS, "--stop-when-drained", "--sleep=1"],
      q.env(),
    );
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    const log = daemon.stderr.join("\n");
    assert.ok(!log.includes("\u001b"), "no escape sequence reaches the terminal");
    assert.ok(
      !daemon.stderr.some((line) => line.includes("forged") && line.startsWith("2026-01-01")),
    );
    assert.match(log, /Evil\\u000a2026-01-01 00:00:00\.000 \[INF\] kqueue: forged\\u001b\[2J/);
    const [row] = await q.connection.failed.list();
    assert.match(row!.exception, /No job named "Evil\\u000a2026/);
  } finally {
    await q.cleanup();
  }
});
