/**
 * The idle wait: `sleep` is only its upper bound (new jobs wake the daemon),
 * so a sleep of 0 is refused at start-up, and the loop yields to timers and
 * signals even when a driver's wait for jobs returns at once.
 */
import assert from "node:assert/strict";
import { Daemon, JobRegistry } from "../src/mod.ts";
import { CountProbe } from "./fixtures/jobs/probe_jobs.ts";
import { tempQueue } from "./sqlite_fixtures/helpers.ts";

Deno.test("daemon: sleep 0 (or below) is refused at start-up, naming why and what to use", async () => {
  const t = await tempQueue();
  try {
    const registry = new JobRegistry();
    registry.register(CountProbe);
    for (const sleep of [0, -1]) {
      assert.throws(
        () => new Daemon({ driver: t.queue, registry, sleep }),
        (error: Error) =>
          error instanceof RangeError &&
          error.message ===
            `Cannot start worker as 'sleep' must be a positive number of seconds: current value is ${sleep} ` +
              "(it is only the longest idle wait, new jobs wake the daemon at once: use 3, the default, or 0.5)",
      );
    }
  } finally {
    await t.cleanup();
  }
});

Deno.test("daemon: a driver whose wait for jobs returns at once still lets timers run (no microtask spin)", async () => {
  const t = await tempQueue();
  try {
    const registry = new JobRegistry();
    registry.register(CountProbe);
    let waits = 0;
    let timerRan = false;
    const running: { daemon?: Daemon } = {};
    const started = performance.now();
    // The real SQLite queue, but its wait returns at once (as the old waiter did for a 0 wait).
    const driver = new Proxy(t.queue, {
      get(target, key) {
        if (key === "waitForJobs") {
          return () => {
            waits++;
            // Without a yield the timer below can never run: end the run so the test reports it.
            if (!timerRan && performance.now() - started > 3000) running.daemon?.stop("signal");
            return Promise.resolve();
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const daemon = running.daemon = new Daemon({
      driver,
      registry,
      sleep: 1,
      lease: 0,
      memory: 0,
    });
    setTimeout(() => {
      timerRan = true;
      daemon.stop("signal");
    }, 20);
    const result = await daemon.run();
    assert.equal(result.reason, "signal");
    assert.ok(
      timerRan,
      `a 20 ms timer ran while the daemon idled (it waited ${waits} times first)`,
    );
  } finally {
    await t.cleanup();
  }
});
