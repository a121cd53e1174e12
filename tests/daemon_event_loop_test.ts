/**
 * Event-loop lag, measured by the daemon itself and reported on worker:stopped
 * (and in the human log): a CPU-hogging inline job stalls the loop for as long
 * as it hogs, and is named with the advice to mark it isolated; the same kind
 * of work in an isolated job leaves the loop free.
 */
import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent, runToDrain } from "./helpers/daemon_process.ts";
import { dispatchTo, readLines, tempQueue } from "./helpers/temp_project.ts";
import { HogsLoop, TickProbe } from "./fixtures/jobs/probe_jobs.ts";
import { CpuSpin } from "./fixtures/jobs/isolated_probes.ts";

Deno.test("daemon: event-loop lag is reported; an inline hog stalls it for its length, an isolated spin does not", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, HogsLoop, { ms: 600 });
    const inline = await runToDrain(q.env());
    const inlineLag = inline.events.find(isEvent("worker:stopped"))!.maxLagMs as number;
    assert.ok(inlineLag >= 500, `a 600 ms inline hog stalls the loop: ${inlineLag} ms`);
    const named = inline.events.find(isEvent("worker:lag"))!;
    assert.deepEqual((named.inlineJobs as { name: string }[]).map((j) => j.name), ["HogsLoop"]);

    const ticks = `${q.dir}/ticks.txt`;
    await dispatchTo(q, CpuSpin);
    await dispatchTo(q, TickProbe, { file: ticks, forMs: 1500, everyMs: 50 });
    const isolated = await runToDrain(q.env());
    const isolatedLag = isolated.events.find(isEvent("worker:stopped"))!.maxLagMs as number;
    assert.ok(
      isolated.events.some(isEvent("job:failed", "CpuSpin")),
      "the spin was killed at its timeout",
    );
    assert.deepEqual(isolated.events.filter(isEvent("worker:lag")), [], "no stall reported");
    assert.ok(isolatedLag < 250, `an isolated spin leaves the loop free: ${isolatedLag} ms`);
    const stamps = (await readLines(ticks)).map(Number);
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]!);
    assert.ok(
      Math.max(...gaps) < 300,
      `inline ticks kept coming: largest gap ${Math.max(...gaps)} ms`,
    );
    console.log(
      `event-loop lag: inline 600 ms hog → ${inlineLag} ms; isolated CPU spin → ${isolatedLag} ms (largest tick gap ${
        Math.max(...gaps)
      } ms)`,
    );
  } finally {
    await q.cleanup();
  }
});

Deno.test("daemon: the human log ends with the longest event-loop stall", async () => {
  const q = await tempQueue();
  try {
    await dispatchTo(q, HogsLoop, { ms: 400 });
    const daemon = new DaemonProcess(
      ["work", "--jobs", FIXTURE_JOBS, "--stop-when-drained", "--sleep=1"],
      q.env(),
    );
    assert.equal((await daemon.finished()).code, 0);
    const last = daemon.stderr.find((line) => line.includes("Stopped (drained)"));
    assert.match(
      last ?? daemon.stderr.join("\n"),
      /Stopped \(drained\) after 1 job\(s\); longest event-loop stall (\d+) ms/,
    );
    const ms = Number(/stall (\d+) ms/.exec(last!)![1]);
    assert.ok(ms >= 300, `${ms} ms`);
  } finally {
    await q.cleanup();
  }
});
