import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { assertQueueEmpty, readLines, tempQueue } from "./helpers/temp_project.ts";
import { CountProbe } from "./fixtures/jobs/probe_jobs.ts";
import { prepareDispatch } from "../src/dispatch.ts";

Deno.test("daemon: two daemons on one SQLite file run 2,000 jobs, each exactly once", async () => {
  const q = await tempQueue();
  try {
    const file = `${q.dir}/runs.txt`;
    const payloads = Array.from(
      { length: 2000 },
      (_, n) => prepareDispatch(CountProbe, { file, n }).payload,
    );
    await q.connection.driver.pushMany("default", payloads);
    const args = [
      "work",
      "--json",
      "--jobs",
      FIXTURE_JOBS,
      "--concurrency=20",
      "--stop-when-drained",
      "--sleep=1",
    ];
    const daemons = [new DaemonProcess(args, q.env()), new DaemonProcess(args, q.env())];
    const statuses = await Promise.all(daemons.map((d) => d.finished(60_000)));
    statuses.forEach((s, i) => assert.equal(s.code, 0, daemons[i]!.stderr.join("\n")));
    const runs = (await readLines(file)).map(Number);
    assert.equal(runs.length, 2000, "2,000 runs in all");
    assert.equal(new Set(runs).size, 2000, "no job ran twice");
    const done = daemons.reduce((n, d) => n + d.events.filter(isEvent("job:done")).length, 0);
    assert.equal(done, 2000);
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});
