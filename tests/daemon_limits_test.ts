import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent, runToDrain } from "./helpers/daemon_process.ts";
import { dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import { CountProbe, HogsLoop, HoldsMemory, LongProbe } from "./fixtures/jobs/probe_jobs.ts";

Deno.test("daemon: the lag watchdog names an inline job that blocks the event loop", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, HogsLoop, { ms: 700 });
    const daemon = await runToDrain(q.env());
    const lag = daemon.events.find(isEvent("worker:lag"));
    assert.ok(lag, "a worker:lag event");
    assert.ok((lag.lagMs as number) >= 500, `lag of about 700 ms (${lag.lagMs})`);
    const names = (lag.inlineJobs as Array<{ name: string }>).map((j) => j.name);
    assert.deepEqual(names, ["HogsLoop"]);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: the human log names the blocking job and advises isolated = true", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, HogsLoop, { ms: 700 });
    const daemon = new DaemonProcess([
      "work",
      "--jobs",
      FIXTURE_JOBS,
      "--stop-when-drained",
      "--sleep=1",
    ], q.env());
    assert.equal((await daemon.finished()).code, 0);
    const warning = daemon.stderr.find((line) => line.includes("Event loop blocked"));
    assert.ok(warning, daemon.stderr.join("\n"));
    assert.match(warning, /HogsLoop \[\d+\].*isolated = true/);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: past --memory it stops taking jobs, lets in-flight ones finish, and exits 12", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/mem.txt`;
    await dispatchTo(q, LongProbe, { file, ms: 2500 }, { count: 4 });
    const daemon = new DaemonProcess([
      "work",
      "--json",
      "--jobs",
      FIXTURE_JOBS,
      "--concurrency=2",
      "--memory=1",
    ], q.env());
    const status = await daemon.finished();
    assert.equal(status.code, 12, daemon.stderr.join("\n"));
    const stopping = daemon.events.find(isEvent("worker:stopping"))!;
    assert.equal(stopping.reason, "memory");
    const lines = await readLines(file);
    assert.equal(
      lines.filter((l) => l.startsWith("end")).length,
      2,
      "the two in-flight jobs finished",
    );
    assert.deepEqual(await q.connection.driver.counts("default"), {
      ready: 2,
      delayed: 0,
      reserved: 0,
    });
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: --memory counts the heap a job holds (buffers included), not Deno's baseline RSS", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/held.txt`;
    // An idle daemon's RSS alone is near 100 MB; its heap is far below 100.
    await dispatchTo(q, CountProbe, { file: `${q.dir}/count.txt`, n: 1 });
    await dispatchTo(q, HoldsMemory, { file, mb: 160, ms: 3000 });
    await dispatchTo(q, CountProbe, { file: `${q.dir}/count.txt`, n: 2 }, { count: 3 });
    const daemon = new DaemonProcess(
      ["work", "--json", "--jobs", FIXTURE_JOBS, "--concurrency=1", "--memory=100"],
      q.env(),
    );
    const status = await daemon.finished();
    assert.equal(status.code, 12, daemon.stderr.join("\n"));
    const stopping = daemon.events.find(isEvent("worker:stopping"))!;
    assert.equal(stopping.reason, "memory");
    assert.match(String(stopping.detail), /^heap \d+ MB ≥ --memory 100 MB \(RSS \d+ MB\)$/);
    assert.deepEqual(await readLines(file), ["holding 160 MB", "released 160 MB"]);
    assert.deepEqual(await readLines(`${q.dir}/count.txt`), ["1"], "it stopped while holding");
    assert.equal((await q.connection.driver.counts("default")).ready, 3);
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: --max-jobs stops after exactly that many jobs", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/max.txt`;
    for (let n = 0; n < 5; n++) await dispatchTo(q, CountProbe, { file, n });
    const daemon = new DaemonProcess([
      "work",
      "--json",
      "--jobs",
      FIXTURE_JOBS,
      "--max-jobs=3",
      "--concurrency=2",
    ], q.env());
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    assert.equal((await readLines(file)).length, 3);
    assert.equal(daemon.events.find(isEvent("worker:stopping"))!.reason, "max-jobs");
    assert.deepEqual(await q.connection.driver.counts("default"), {
      ready: 2,
      delayed: 0,
      reserved: 0,
    });
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: --max-time stops an idle daemon; --stop-when-empty ignores delayed jobs", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/t.txt`;
    await dispatchTo(q, CountProbe, { file, n: 1 }, { delay: 60 });
    const idle = new DaemonProcess([
      "work",
      "--json",
      "--jobs",
      FIXTURE_JOBS,
      "--max-time=1",
      "--sleep=1",
    ], q.env());
    assert.equal((await idle.finished()).code, 0);
    assert.equal(idle.events.find(isEvent("worker:stopping"))!.reason, "max-time");
    const empty = new DaemonProcess(
      ["work", "--json", "--jobs", FIXTURE_JOBS, "--stop-when-empty"],
      q.env(),
    );
    assert.equal((await empty.finished()).code, 0);
    assert.equal(empty.events.find(isEvent("worker:stopping"))!.reason, "empty");
    assert.deepEqual(await q.connection.driver.counts("default"), {
      ready: 0,
      delayed: 1,
      reserved: 0,
    });
  } finally {
    await q.cleanup();
  }
});
