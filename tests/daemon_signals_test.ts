import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent, runToDrain } from "./helpers/daemon_process.ts";
import { assertQueueEmpty, dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import { LongProbe } from "./fixtures/jobs/probe_jobs.ts";
import { ignoringEchoes, SAME_SIGNAL_MS } from "../src/cli/stop_signals.ts";

Deno.test("daemon: SIGTERM lets in-flight jobs finish, takes no new ones, exits 0", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/long.txt`;
    await dispatchTo(q, LongProbe, { file, ms: 1500 }, { count: 3 });
    await dispatchTo(q, LongProbe, { file, ms: 1500 }, { count: 2, queue: "later" });
    const daemon = new DaemonProcess(
      ["work", "--json", "--jobs", FIXTURE_JOBS, "--concurrency=3", "--queue=default,later"],
      q.env(),
    );
    await daemon.waitForCount(isEvent("probe:started"), 3);
    daemon.kill("SIGTERM");
    const status = await daemon.finished();
    assert.equal(status.code, 0, daemon.stderr.join("\n"));
    const lines = await readLines(file);
    assert.equal(lines.filter((l) => l.startsWith("start")).length, 3);
    assert.equal(
      lines.filter((l) => l.startsWith("end")).length,
      3,
      "all three in-flight jobs finished",
    );
    assert.equal(daemon.events.filter(isEvent("job:done")).length, 3);
    await assertQueueEmpty(q);
    assert.deepEqual(await q.connection.driver.counts("later"), {
      ready: 2,
      delayed: 0,
      reserved: 0,
    });
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: a second signal forces: the running job is requeued with its attempt restored", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/forced.txt`;
    await dispatchTo(q, LongProbe, { file, ms: 20_000 });
    const daemon = new DaemonProcess(["work", "--json", "--jobs", FIXTURE_JOBS], q.env());
    await daemon.waitFor(isEvent("probe:started"));
    daemon.kill("SIGTERM");
    const firstAt = performance.now();
    await daemon.waitFor(isEvent("worker:stopping"));
    // A deliberate second signal: later than a doubled delivery of the first one could be.
    const echoLeft = SAME_SIGNAL_MS + 50 - (performance.now() - firstAt);
    if (echoLeft > 0) await new Promise((resolve) => setTimeout(resolve, echoLeft));
    daemon.kill("SIGTERM");
    const status = await daemon.finished();
    assert.equal(status.code, 0, daemon.stderr.join("\n"));
    assert.equal(daemon.events.filter(isEvent("job:requeued")).length, 1);
    assert.deepEqual(await q.connection.driver.counts("default"), {
      ready: 1,
      delayed: 0,
      reserved: 0,
    });
    const [job] = await q.connection.driver.reserve(["default"], 1);
    assert.equal(job!.attempts, 1, "the interrupted attempt was not counted");
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: SIGKILL mid-job → the job runs again once its lease lapses, on a new daemon, nothing lost", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/killed.txt`;
    await dispatchTo(q, LongProbe, { file, ms: 1000 });
    const first = new DaemonProcess(
      ["work", "--json", "--jobs", FIXTURE_JOBS, "--tries=3", "--lease=3"],
      q.env(),
    );
    await first.waitFor(isEvent("probe:started"));
    first.kill("SIGKILL");
    const killed = await first.finished();
    assert.equal(killed.signal, "SIGKILL");
    const killedAt = Date.now();
    assert.deepEqual(await q.connection.driver.counts("default"), {
      ready: 0,
      delayed: 0,
      reserved: 1,
    });

    const second = new DaemonProcess(
      [
        "work",
        "--json",
        "--jobs",
        FIXTURE_JOBS,
        "--tries=3",
        "--lease=3",
        "--stop-when-drained",
        "--sleep=1",
      ],
      q.env(),
    );
    const done = await second.waitFor(isEvent("job:done"));
    assert.equal(done.job!.attempt, 2, "the reservation lapsed and the job was taken again");
    assert.ok(Date.now() - killedAt >= 1000, "not before the lease (3 s, whole seconds) ran out");
    assert.equal((await second.finished()).code, 0, second.stderr.join("\n"));
    assert.deepEqual(await readLines(file), ["start 1", "start 2", "end 2"]);
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});

for (const signal of ["SIGINT", "SIGQUIT"] as const) {
  Deno.test(`daemon: ${signal} is a graceful stop too: the in-flight job finishes, exit 0`, async () => {
    const q = await tempQueue();
    try {
      const file = `${q.dir}/${signal}.txt`;
      await dispatchTo(q, LongProbe, { file, ms: 500 });
      const daemon = new DaemonProcess(["work", "--json", "--jobs", FIXTURE_JOBS], q.env());
      await daemon.waitFor(isEvent("probe:started"));
      daemon.kill(signal);
      assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
      assert.deepEqual(await readLines(file), ["start 1", "end 1"]);
      await assertQueueEmpty(q);
    } finally {
      await q.cleanup();
    }
  });
}

Deno.test("daemon: a hung job past its timeout goes back with its attempt counted, then fails on its tries", async () => {
  const q = await tempQueue();
  try {
    const { NeverSettles } = await import("./fixtures/jobs/probe_jobs.ts");
    await dispatchTo(q, NeverSettles);
    const first = new DaemonProcess(
      ["work", "--json", "--jobs", FIXTURE_JOBS, "--stop-when-empty", "--shutdown-timeout=3"],
      q.env(),
    );
    assert.equal((await first.finished()).code, 0, first.stderr.join("\n"));
    assert.ok(first.events.find(isEvent("job:timeout")));
    assert.match(String(first.events.find(isEvent("job:requeued"))!.reason), /attempt counted/);
    const second = await runToDrain(q.env());
    const failed = second.events.find(isEvent("job:failed"))!;
    assert.equal(
      failed.error!.name,
      "MaxAttemptsExceededError",
      "tries = 1 was used up by the hung attempt",
    );
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`daemon: under deno task, one ${signal} to the process group (reaching it twice) is one graceful stop`, async () => {
    const q = await tempQueue();
    try {
      const file = `${q.dir}/group-${signal}.txt`;
      await dispatchTo(q, LongProbe, { file, ms: 1500 });
      const daemon = new DaemonProcess(["work", "--json", "--jobs", FIXTURE_JOBS], q.env(), {
        task: true,
      });
      await daemon.waitFor(isEvent("probe:started"));
      daemon.killGroup(signal); // Ctrl-C, `kill -TERM -<pgid>`, systemd's KillMode=control-group
      assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
      assert.deepEqual(await readLines(file), ["start 1", "end 1"], "the job finished");
      assert.equal(daemon.events.filter(isEvent("job:requeued")).length, 0, "nothing forced");
      assert.ok(!daemon.stderr.some((line) => /forcing/.test(line)), daemon.stderr.join("\n"));
      await assertQueueEmpty(q);
    } finally {
      await q.cleanup();
    }
  });
}

Deno.test("daemon signals: a repeat of the same signal within SAME_SIGNAL_MS is the same one; later, or another signal, counts", () => {
  let now = 0;
  const seen: string[] = [];
  const onSignal = ignoringEchoes((signal) => seen.push(`${signal}@${now}`), () => now);
  onSignal("SIGINT");
  now = 3;
  onSignal("SIGINT"); // forwarded by deno task
  now = 4;
  onSignal("SIGTERM");
  now = 4 + SAME_SIGNAL_MS;
  onSignal("SIGTERM"); // a deliberate second one
  assert.deepEqual(seen, ["SIGINT@0", "SIGTERM@4", `SIGTERM@${4 + SAME_SIGNAL_MS}`]);
});
