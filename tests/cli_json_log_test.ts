/**
 * `work --json`: stdout is one JSON event per line, and stderr (the log, a
 * signal's note, a fatal error) is JSON lines too, so both parse line by line.
 */
import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { dispatchTo, tempQueue } from "./helpers/temp_project.ts";
import { LongProbe } from "./fixtures/jobs/probe_jobs.ts";

/** Each line as a log record; fails naming the first line that is not one. */
function logRecords(lines: readonly string[]): Array<{ level: string; message: string }> {
  return lines.map((line) => {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch {
      throw new Error(`a stderr line is not JSON: ${line}`);
    }
    assert.equal(typeof record["@timestamp"], "string", line);
    assert.match(String(record.level), /^(DEBUG|INFO|WARN|ERROR|FATAL)$/, line);
    assert.equal(typeof record.message, "string", line);
    return record as { level: string; message: string };
  });
}

Deno.test("cli --json: the daemon's stderr is JSON lines, its signal note included", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, LongProbe, { file: `${q.dir}/long.txt`, ms: 300 });
    const daemon = new DaemonProcess(["work", "--json", "--jobs", FIXTURE_JOBS], q.env());
    await daemon.waitFor(isEvent("job:started"));
    daemon.kill("SIGTERM");
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    const records = logRecords(daemon.stderr);
    const messages = records.map((r) => r.message);
    assert.ok(messages.some((m) => m.startsWith("Queue: ")), messages.join("\n"));
    assert.ok(
      messages.some((m) => m.startsWith("Received SIGTERM: finishing")),
      messages.join("\n"),
    );
    assert.equal(daemon.events.filter(isEvent("job:done")).length, 1, "the job finished first");
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli --json: a bad flag is one JSON line on stderr, exit 2", async () => {
  const q = await tempQueue();
  try {
    const daemon = new DaemonProcess(
      ["work", "--json", "--jobs", FIXTURE_JOBS, "--concurrency=lots"],
      q.env(),
    );
    assert.equal((await daemon.finished()).code, 2);
    const [record, ...more] = logRecords(daemon.stderr);
    assert.deepEqual(more, []);
    assert.equal(record!.level, "ERROR");
    assert.match(record!.message, /^kqueue: --concurrency/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("cli: without --json the same error is one plain line", async () => {
  const q = await tempQueue();
  try {
    const daemon = new DaemonProcess(
      ["work", "--jobs", FIXTURE_JOBS, "--concurrency=lots"],
      q.env(),
    );
    assert.equal((await daemon.finished()).code, 2);
    assert.equal(daemon.stderr.length, 1, daemon.stderr.join("\n"));
    assert.match(daemon.stderr[0]!, /^kqueue: --concurrency/);
  } finally {
    await q.cleanup();
  }
});
