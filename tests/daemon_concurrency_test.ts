import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import { ConcurrencyProbe } from "./fixtures/jobs/probe_jobs.ts";

Deno.test("daemon: I/O-bound inline jobs reach the configured concurrency (counted in flight)", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/peaks.txt`;
    await dispatchTo(q, ConcurrencyProbe, { ms: 300, file }, { count: 40 });
    const daemon = new DaemonProcess(
      ["work", "--json", "--jobs", FIXTURE_JOBS, "--concurrency=20", "--stop-when-drained"],
      q.env(),
    );
    const status = await daemon.finished();
    assert.equal(status.code, 0, daemon.stderr.join("\n"));
    const peaks = (await readLines(file)).map(Number);
    assert.equal(peaks.length, 40);
    assert.equal(Math.max(...peaks), 20, "the jobs themselves saw 20 of them in flight at once");
    assert.equal(daemon.events.filter(isEvent("job:done")).length, 40);
    const counts = await q.connection.driver.counts("default");
    assert.deepEqual(counts, { ready: 0, delayed: 0, reserved: 0 });
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: --queue takes queues in priority order", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/order.txt`;
    const { CountProbe } = await import("./fixtures/jobs/probe_jobs.ts");
    for (let n = 0; n < 5; n++) await dispatchTo(q, CountProbe, { file, n }, { queue: "low" });
    for (let n = 100; n < 105; n++) await dispatchTo(q, CountProbe, { file, n }, { queue: "high" });
    const daemon = new DaemonProcess(
      [
        "work",
        "--json",
        "--jobs",
        FIXTURE_JOBS,
        "--queue=high,low",
        "--concurrency=1",
        "--stop-when-empty",
      ],
      q.env(),
    );
    assert.equal((await daemon.finished()).code, 0, daemon.stderr.join("\n"));
    assert.deepEqual((await readLines(file)).map(Number), [100, 101, 102, 103, 104, 0, 1, 2, 3, 4]);
  } finally {
    await q.cleanup();
  }
});
