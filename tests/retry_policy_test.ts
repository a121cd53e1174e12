import assert from "node:assert/strict";
import {
  backoffFor,
  checkBeforeRun,
  decide,
  type RetryLimits,
} from "../src/outcome/retry_policy.ts";
import type { AttemptOutcome } from "../src/executor/outcome.ts";
import {
  ChildCrashedError,
  MaxAttemptsExceededError,
  MemoryLimitExceededError,
  PermissionDeniedError,
  TimeoutExceededError,
} from "../src/errors.ts";

const base: RetryLimits = { maxTries: 3, backoff: [10, 30], failOnTimeout: false };
const boom: AttemptOutcome = { kind: "error", error: new Error("boom") };
const NOW = 1_800_000_000;

const table: Array<[string, Partial<RetryLimits>, number, AttemptOutcome, string, number?]> = [
  ["success acks", {}, 1, { kind: "success" }, "ack"],
  ["attempt 1 of 3 with an error → release after backoff[0]", {}, 1, boom, "release", 10],
  ["attempt 2 of 3 with an error → release after backoff[1]", {}, 2, boom, "release", 30],
  ["attempt 3 of 3 with an error → fail", {}, 3, boom, "fail"],
  [
    "backoff [10, 30] on attempt 5 (unlimited tries) → release in 30 s",
    { maxTries: 0 },
    5,
    boom,
    "release",
    30,
  ],
  ["tries 0 = unlimited", { maxTries: 0 }, 500, boom, "release", 30],
  ["retryUntil in the future wins over tries", { retryUntil: NOW + 60 }, 9, boom, "release", 30],
  ["retryUntil reached → fail even on attempt 1", { retryUntil: NOW }, 1, boom, "fail"],
  [
    "timeout with tries left → release",
    {},
    1,
    { kind: "timeout", error: new TimeoutExceededError("t") },
    "release",
    10,
  ],
  ["timeout with failOnTimeout → fail", { failOnTimeout: true }, 1, {
    kind: "timeout",
    error: new TimeoutExceededError("t"),
  }, "fail"],
  [
    "crash counts like an exception",
    {},
    3,
    { kind: "crashed", error: new ChildCrashedError("c") },
    "fail",
  ],
  [
    "memory kill with tries left → release",
    {},
    1,
    { kind: "memory", error: new MemoryLimitExceededError("m") },
    "release",
    10,
  ],
  ["permission denial fails at once", {}, 1, {
    kind: "denied",
    error: new PermissionDeniedError("d"),
  }, "fail"],
  [
    "job called release(7) → release in 7 s",
    {},
    3,
    { kind: "released", delaySeconds: 7 },
    "release",
    7,
  ],
  ["job called fail() → fail", {}, 1, { kind: "failed", error: new Error("f") }, "fail"],
  ["no backoff list → 0 s", { backoff: [] }, 1, boom, "release", 0],
];

for (const [name, limits, attempt, outcome, action, delay] of table) {
  Deno.test(`retry policy: ${name}`, () => {
    const decision = decide({ limits: { ...base, ...limits }, attempt, outcome, nowSeconds: NOW });
    assert.equal(decision.action, action);
    if (decision.action === "release") assert.equal(decision.delaySeconds, delay);
  });
}

Deno.test("retry policy: maxExceptions fails on the Nth exception even when tries allow more", () => {
  const limits = { ...base, maxTries: 10, maxExceptions: 2 };
  assert.equal(
    decide({ limits, attempt: 1, outcome: boom, exceptionCount: 1, nowSeconds: NOW }).action,
    "release",
  );
  const second = decide({ limits, attempt: 2, outcome: boom, exceptionCount: 2, nowSeconds: NOW });
  assert.equal(second.action, "fail");
  assert.equal(second.action === "fail" && second.exhaustedExceptions, true);
});

Deno.test("retry policy: the check before running fails a job past its tries or retryUntil", () => {
  assert.equal(checkBeforeRun(base, 3, NOW, "X"), undefined);
  assert.ok(checkBeforeRun(base, 4, NOW, "X") instanceof MaxAttemptsExceededError);
  assert.equal(checkBeforeRun({ ...base, maxTries: 0 }, 99, NOW, "X"), undefined);
  assert.equal(checkBeforeRun({ ...base, retryUntil: NOW }, 99, NOW, "X"), undefined);
  assert.match(
    checkBeforeRun({ ...base, retryUntil: NOW - 1 }, 1, NOW, "X")!.message,
    /X has been attempted too many times/,
  );
});

Deno.test("retry policy: backoff picks entry attempt-1 and repeats the last", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffFor([1, 5, 10], a)), [1, 5, 10, 10, 10]);
});

Deno.test("retry policy: a retry due past 2106 fails instead (backoff or release()), to the second", () => {
  const last = 4_294_967_295;
  const limits = { ...base, maxTries: 0, backoff: [last - NOW] };
  const onTime = decide({ limits, attempt: 1, outcome: boom, nowSeconds: NOW });
  assert.deepEqual(
    onTime,
    { action: "release", delaySeconds: last - NOW },
    "due at the last second",
  );
  const late = decide({ limits, attempt: 1, outcome: boom, nowSeconds: NOW + 1 });
  assert.equal(late.action, "fail");
  const error = (late as { error: Error }).error;
  assert.ok(error instanceof RangeError);
  assert.match(
    error.message,
    /^Cannot retry the job in 2494967295 seconds: that is past unix time/,
  );
  assert.equal(error.cause, boom.kind === "error" ? boom.error : undefined, "the attempt's error");
  const released = decide({
    limits: base,
    attempt: 1,
    outcome: { kind: "released", delaySeconds: last - NOW + 0.5 },
    nowSeconds: NOW,
  });
  assert.equal(released.action, "fail", "a fraction rounds up past the last second");
});
