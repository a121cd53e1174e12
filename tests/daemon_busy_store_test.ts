import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { assertQueueEmpty, dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import { OverrunsTimeout, TickProbe } from "./fixtures/jobs/probe_jobs.ts";

const LOCKER = new URL("./fixtures/lock_database.ts", import.meta.url).pathname;

Deno.test("daemon: while another process holds the SQLite write lock, timers, timeouts and in-flight jobs stay alive", async () => {
  const q = await tempQueue();
  try {
    const ticks = `${q.dir}/ticks.txt`;
    await dispatchTo(q, TickProbe, { file: ticks, forMs: 2500, everyMs: 50 });
    await dispatchTo(q, OverrunsTimeout);
    const daemon = new DaemonProcess(
      [
        "work",
        "--json",
        "--jobs",
        FIXTURE_JOBS,
        "--concurrency=5",
        "--stop-when-drained",
        "--sleep=1",
      ],
      q.env(),
    );
    await daemon.waitForCount(isEvent("job:started"), 2);
    const locker = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", LOCKER, q.databasePath, "1800"],
      stdout: "piped",
    }).spawn();
    const reader = locker.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const lockedAt = Date.now();
    assert.match((await reader.read()).value ?? "", /locked/);
    // The timeout timer fires on time although the store is locked.
    const timedOut = await daemon.waitFor(isEvent("job:timeout", "OverrunsTimeout"));
    assert.ok(timedOut);
    while (!(await reader.read()).done) { /* until the locker exits */ }
    await locker.status;
    const releasedAt = Date.now();
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));

    const stamps = (await readLines(ticks)).map(Number);
    const during = stamps.filter((t) => t >= lockedAt && t <= releasedAt);
    assert.ok(
      during.length >= 15,
      `the inline job kept ticking during the lock (${during.length} ticks)`,
    );
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]!);
    assert.ok(Math.max(...gaps) < 400, `no frozen event loop: largest gap ${Math.max(...gaps)} ms`);
    assert.equal(daemon.events.filter(isEvent("job:done", "TickProbe")).length, 1);
    assert.equal(daemon.events.filter(isEvent("job:failed", "OverrunsTimeout")).length, 1);
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});
