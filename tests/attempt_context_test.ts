import assert from "node:assert/strict";
import { createAttemptContext } from "../src/executor/attempt_context.ts";

const info = { attempt: 1, jobId: "1", uuid: "u", queue: "default", connection: "database" };

Deno.test("attempt context: the signal read before an abort is aborted by it, with its reason", () => {
  const attempt = createAttemptContext(info);
  const signal = attempt.context.signal;
  assert.equal(signal.aborted, false);
  let fired = 0;
  signal.addEventListener("abort", () => fired++);
  const reason = new Error("timed out");
  attempt.abort(reason);
  attempt.abort(new Error("a second abort changes nothing"));
  assert.equal(signal.aborted, true);
  assert.equal(signal.reason, reason);
  assert.equal(fired, 1);
  assert.equal(attempt.context.signal, signal, "one signal per attempt");
});

Deno.test("attempt context: a signal first read after the abort is already aborted, with its reason", () => {
  const attempt = createAttemptContext(info);
  const reason = new Error("forced shutdown");
  attempt.abort(reason);
  const signal = attempt.context.signal;
  assert.equal(signal.aborted, true);
  assert.equal(signal.reason, reason);
  assert.throws(() => signal.throwIfAborted(), (error) => error === reason);
});
