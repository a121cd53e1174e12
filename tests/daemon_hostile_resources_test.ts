/**
 * Isolated jobs that attack the daemon rather than the files: fork bombs,
 * unbounded allocation, never returning, closing or flooding the protocol
 * pipes, forging frames, escalating a Worker, and every odd exit. Each must
 * end in failed_jobs with a clear reason, and the daemon must stay healthy.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { JobClass } from "../src/jobs/job.ts";
import { Allocate } from "./fixtures/hostile/allocate.ts";
import { BenignInline, BenignIsolated } from "./fixtures/hostile/benign.ts";
import { ClosePipes } from "./fixtures/hostile/close_pipes.ts";
import { DieBySignal } from "./fixtures/hostile/die_by_signal.ts";
import { EscalateWorker } from "./fixtures/hostile/escalate_worker.ts";
import { ExitWith } from "./fixtures/hostile/exit_with.ts";
import { ForkBomb } from "./fixtures/hostile/fork_bomb.ts";
import { GarbageOutput } from "./fixtures/hostile/garbage_output.ts";
import { NeverReturns } from "./fixtures/hostile/never_returns.ts";
import { isEvent } from "./helpers/daemon_process.ts";
import {
  assertGone,
  pooledChildrenOf,
  rssMb,
  startHostileProject,
} from "./helpers/hostile_project.ts";

type Attempt = [JobClass, Record<string, unknown>, RegExp];

const exitCrash = (code: number) =>
  new RegExp(
    `^ChildCrashedError: ExitWith's child exited with code ${code} without reporting a result: the job called Deno\\.exit\\(${code}\\)`,
  );

Deno.test("hostile: resource and protocol attacks through a real daemon each fail with a clear reason; the daemon stays healthy", async () => {
  const project = await startHostileProject();
  try {
    const attempts: Attempt[] = [
      ...[0, 1, 81, 82, 83, 133, 137, 255].map((
        code,
      ): Attempt => [ExitWith, { code }, exitCrash(code)]),
      [DieBySignal, {}, /^ChildCrashedError: DieBySignal's child was killed by SIGABRT without/],
      [
        DieBySignal,
        { name: "KILL" },
        /^ChildCrashedError: DieBySignal's child was killed by SIGKILL/,
      ],
      [
        NeverReturns,
        {},
        /^TimeoutExceededError: NeverReturns has timed out after 1 s and was killed/,
      ],
      [
        NeverReturns,
        { how: "wait" },
        /^TimeoutExceededError: NeverReturns has timed out after 1 s/,
      ],
      [
        Allocate,
        {},
        /^MemoryLimitExceededError: Allocate (ran out of memory|used \d+ MB of memory)/,
      ],
      [
        Allocate,
        { what: "buffers" },
        /^MemoryLimitExceededError: Allocate used \d+ MB of memory \(RSS\), over its memoryLimit of 128 MB/,
      ],
      [
        ForkBomb,
        {},
        /^MemoryLimitExceededError: ForkBomb (used \d+ MB of memory \(RSS\), over its memoryLimit of 256 MB|ran out of memory)/,
      ],
      [ForkBomb, { how: "processes" }, /^PermissionDeniedError: ForkBomb may not run "[^"]*deno"/],
      // The Worker's stdio handles are its own: closing them leaves the runner's pipes open.
      [ClosePipes, {}, /^Error: closed stdout, then failed/],
      [ClosePipes, { pipe: "stdin" }, /^Error: closed stdin, then failed/],
      [GarbageOutput, {}, /^Error: the real outcome/],
      [GarbageOutput, { what: "forged" }, /^Error: the real outcome/],
      [GarbageOutput, { what: "huge" }, /^Error: the real outcome/],
      [
        GarbageOutput,
        { what: "forged-exit" },
        /^ChildCrashedError: GarbageOutput's child exited with code 0 without reporting a result: the job called Deno\.exit\(0\)/,
      ],
      [
        EscalateWorker,
        {},
        /^ChildCrashedError: EscalateWorker's child exited with code 70 without reporting a result; last stderr:[\s\S]*--unstable-worker-options/,
      ],
    ];
    const expected = new Map<string, [string, RegExp]>();
    for (const [Class, data, reason] of attempts) {
      expected.set(await project.dispatch(Class, data), [
        `${Class.name} ${JSON.stringify(data)}`,
        reason,
      ]);
    }
    // Meanwhile the daemon's own loop must keep turning: inline jobs complete during the attack.
    for (let n = 0; n < 20; n++) await project.dispatch(BenignInline, { n });
    await project.settled(attempts.length + 20, 120_000);

    const rows = new Map((await project.queue.connection.failed.list()).map((r) => [r.uuid, r]));
    for (const [uuid, [what, reason]] of expected) {
      const row = rows.get(uuid);
      assert.ok(row, `${what} is in failed_jobs`);
      assert.match(
        row.exception,
        reason,
        `${what}: ${row.exception.split("\n").slice(0, 3).join(" | ")}`,
      );
    }
    assert.equal(rows.size, attempts.length, "nothing else failed");
    const forged = project.daemon.events.filter((e) =>
      e.event === "job:done" && e.job?.name === "GarbageOutput"
    );
    assert.deepEqual(forged, [], "no forged frame passed for a success");
    assert.equal(project.daemon.events.filter((e) => e.event === "benign").length, 20);
    const longest = Math.max(
      ...project.daemon.events.filter(isEvent("job:output")).map((e) => String(e.line).length),
    );
    assert.ok(longest < 17_000, `8 MB without a newline reaches the log in cut lines: ${longest}`);

    await project.dispatch(BenignIsolated, { n: 7 });
    await project.settled(attempts.length + 21);
    assert.equal(await Deno.readTextFile(join(project.dir, "storage/out/benign-7.txt")), "7");
    // Only runners kept warm by the pool remain; they go with the daemon (checked after stop).
    const pooled = pooledChildrenOf(project.daemon.pid);
    const rss = rssMb(project.daemon.pid);
    // Under the default --memory (128 MB), past which a daemon drains and exits 12.
    assert.ok(rss < 128, `daemon RSS ${rss.toFixed(0)} MB`);
    assert.deepEqual(project.daemon.events.filter(isEvent("worker:uncaught")), []);
    const lags = project.daemon.events.filter(isEvent("worker:lag")).map((e) => e.lagMs as number);
    assert.ok(lags.every((ms) => ms < 1000), `event-loop stalls: ${JSON.stringify(lags)}`);
    const status = await project.stop();
    assert.equal(status.code, 0, project.daemon.stderr.join("\n"));
    assertGone(pooled);
    const stopped = project.daemon.events.find(isEvent("worker:stopped"))!;
    assert.ok((stopped.maxLagMs as number) < 1000, `longest stall ${stopped.maxLagMs} ms`);
    console.log(
      `daemon under attack: RSS ${
        rss.toFixed(0)
      } MB, longest event-loop stall ${stopped.maxLagMs} ms`,
    );
  } finally {
    if (project.daemon.events.every((e) => e.event !== "worker:stopped")) await project.stop();
  }
});
