import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { assertQueueEmpty, dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import {
  AlwaysFails,
  FlakyProbe,
  MaxExceptionsProbe,
  RetriesPast2106,
  RetryUntilProbe,
} from "./fixtures/jobs/probe_jobs.ts";

const work = (
  extra: string[] = [],
) => ["work", "--json", "--jobs", FIXTURE_JOBS, "--stop-when-drained", "--sleep=1", ...extra];

Deno.test("daemon: a flaky job is released with its backoff, then succeeds on the retry", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/flaky.txt`;
    const [id] = await dispatchTo(q, FlakyProbe, { file, succeedOn: 2 });
    const daemon = new DaemonProcess(work(), q.env());
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    const released = daemon.events.filter(isEvent("job:released"));
    assert.equal(released.length, 1);
    assert.equal(released[0]!.delaySeconds, 1);
    assert.equal(released[0]!.job!.id, id);
    assert.match(released[0]!.error!.message, /flaky failure on attempt 1/);
    const done = daemon.events.filter(isEvent("job:done"));
    assert.equal(done.length, 1);
    assert.equal(done[0]!.job!.attempt, 2);
    const attempts = (await readLines(file)).map((line) => line.split(" ").map(Number));
    assert.deepEqual(attempts.map(([n]) => n), [1, 2]);
    const gap = attempts[1]![1]! - attempts[0]![1]!;
    assert.ok(gap >= 900, `the retry waited its 1 s backoff (waited ${gap} ms)`);
    assert.equal((await q.connection.failed.list()).length, 0);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: tries exhausted → one failed_jobs row in Laravel's format, failed() called once", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/fails.txt`;
    await dispatchTo(q, AlwaysFails, { file }, { queue: "payments" });
    const daemon = new DaemonProcess(work(["--queue=payments"]), q.env());
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    assert.deepEqual(await readLines(file), ["attempt 1", "attempt 2", "failed() always fails"]);
    const rows = await q.connection.failed.list();
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    const payload = JSON.parse(row.payload);
    assert.equal(row.uuid, payload.uuid);
    assert.equal(row.connection, "database");
    assert.equal(row.queue, "payments");
    assert.equal(payload.displayName, "AlwaysFails");
    assert.equal(payload.job, "Illuminate\\Queue\\CallQueuedHandler@call");
    assert.equal(payload.maxTries, 2);
    assert.match(row.exception, /^Error: always fails\n/);
    assert.match(row.failedAt, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.equal(daemon.events.filter(isEvent("job:failed")).length, 1);
    await assertQueueEmpty(q, "payments");
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: retryUntil wins over tries = 1, then fails once past the deadline", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/until.txt`;
    await dispatchTo(q, RetryUntilProbe, { file });
    const daemon = new DaemonProcess(work(), q.env());
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    const attempts = await readLines(file);
    assert.ok(
      attempts.length >= 2,
      `tries = 1 was overridden by retryUntil (${attempts.length} attempts)`,
    );
    const failed = daemon.events.filter(isEvent("job:failed"));
    assert.equal(failed.length, 1);
    const rows = await q.connection.failed.list();
    assert.equal(rows.length, 1);
    const retryUntil = JSON.parse(rows[0]!.payload).retryUntil;
    const lastAttemptAt = Number(attempts.at(-1)!.split(" ")[2]);
    assert.ok(
      Math.floor(lastAttemptAt / 1000) >= retryUntil - 1,
      "it kept trying until the deadline",
    );
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: maxExceptions fails the job on its 2nd exception though tries allow 10", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/maxex.txt`;
    await dispatchTo(q, MaxExceptionsProbe, { file });
    const daemon = new DaemonProcess(work(), q.env());
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    assert.deepEqual(await readLines(file), ["attempt 1", "attempt 2"]);
    assert.equal((await q.connection.failed.list()).length, 1);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: an inline job past its timeout has its signal aborted, is recorded as timed out, and retried", async () => {
  const q = await tempQueue();
  try {
    const { SlowFirstAttempt } = await import("./fixtures/jobs/probe_jobs.ts");
    await dispatchTo(q, SlowFirstAttempt);
    const daemon = new DaemonProcess(work(), q.env());
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    const timeout = daemon.events.find(isEvent("job:timeout"))!;
    assert.equal(timeout.timeoutSeconds, 1);
    const released = daemon.events.find(isEvent("job:released"))!;
    assert.equal(released.error!.name, "TimeoutExceededError");
    assert.ok(
      (released.durationMs as number) < 5000,
      "the aborted attempt ended near its 1 s timeout, not after 10 s",
    );
    assert.equal(daemon.events.find(isEvent("job:done"))!.job!.attempt, 2);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a retry that would be due past 2106 (backoff or release()) fails the job with why, once", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/past2106.txt`;
    await dispatchTo(q, RetriesPast2106, { file, via: "backoff" });
    await dispatchTo(q, RetriesPast2106, { file, via: "release" });
    const daemon = new DaemonProcess(work(["--concurrency=1"]), q.env());
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    assert.deepEqual(await readLines(file), [
      "backoff: attempt 1",
      "backoff: failed() RangeError",
      "release: attempt 1",
      "release: failed() RangeError",
    ]);
    assert.equal(daemon.events.filter(isEvent("job:released")).length, 0);
    const rows = await q.connection.failed.list();
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.match(
        row.exception,
        /^RangeError: Cannot retry the job in 10000000000 seconds: that is past unix time 4294967295 \(2106-02-07 06:28:15 UTC\), the latest available_at Laravel's jobs table holds, so it failed instead: use a shorter backoff or release\(\) delay\n/,
      );
    }
    const viaBackoff = rows.find((row) =>
      JSON.parse(row.payload).data.command.includes('s:7:"backoff"')
    );
    assert.match(viaBackoff!.exception, /\nCaused by: Error: the attempt failed\n/);
    await assertQueueEmpty(q, "default");
  } finally {
    await q.cleanup();
  }
});
