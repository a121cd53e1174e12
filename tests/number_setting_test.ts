/** The one strict reader of numbers written as text (flags, KQUEUE_* and Laravel's variables). */
import assert from "node:assert/strict";
import { readLeaseEnv, readQueueConfig } from "../src/config/env.ts";
import { parseNumberSetting } from "../src/config/number_setting.ts";
import { parseRedisUrl } from "../src/drivers/redis/redis_endpoint.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

const COUNT = { integer: true, positive: true };
const SECONDS = { unit: "seconds" };

Deno.test("number setting: plain digits are read as today, as whole numbers or decimals", () => {
  const read: Array<[string, object, number]> = [
    ["5", COUNT, 5],
    ["007", COUNT, 7],
    ["0", { integer: true }, 0],
    ["9007199254740991", { integer: true }, Number.MAX_SAFE_INTEGER],
    ["0", SECONDS, 0],
    ["30", SECONDS, 30],
    ["2.5", SECONDS, 2.5],
    ["5.0", SECONDS, 5],
    [".5", SECONDS, 0.5],
    ["6379", { integer: true, min: 1, max: 65535 }, 6379],
  ];
  for (const [text, rule, value] of read) {
    assert.equal(parseNumberSetting("--x", text, rule), value, JSON.stringify(text));
  }
});

Deno.test("number setting: hex, exponents, spaces, signs, Infinity and fractions of counts are refused, naming the setting, the value and the rule", () => {
  const refused: Array<[string, object, string]> = [
    [
      "0x10",
      SECONDS,
      "--x=0x10 is not valid: it must be a non-negative number of seconds, in plain digits (like 0, 30 or 2.5)",
    ],
    ["1e3", COUNT, "--x=1e3 is not valid: it must be a positive integer, in plain digits (like 4)"],
    [" 5", COUNT, '--x=" 5" is not valid: it must be a positive integer, in plain digits (like 4)'],
    ["5 ", COUNT, '--x="5 " is not valid: it must be a positive integer, in plain digits (like 4)'],
    ["5.0", COUNT, "--x=5.0 is not valid: it must be a positive integer, in plain digits (like 4)"],
    [
      "5.",
      SECONDS,
      "--x=5. is not valid: it must be a non-negative number of seconds, in plain digits (like 0, 30 or 2.5)",
    ],
    [
      "Infinity",
      SECONDS,
      "--x=Infinity is not valid: it must be a non-negative number of seconds, in plain digits (like 0, 30 or 2.5)",
    ],
    ["+5", COUNT, "--x=+5 is not valid: it must be a positive integer, in plain digits (like 4)"],
    [
      "-1",
      { integer: true },
      "--x=-1 is not valid: it must be a non-negative integer, in plain digits (like 0 or 4)",
    ],
    ["0", COUNT, "--x=0 is not valid: it must be a positive integer, in plain digits (like 4)"],
    [
      "0",
      { ...SECONDS, positive: true },
      "--x=0 is not valid: it must be a positive number of seconds, in plain digits (like 30 or 2.5)",
    ],
    [
      "",
      SECONDS,
      '--x="" is not valid: it must be a non-negative number of seconds, in plain digits (like 0, 30 or 2.5)',
    ],
    [
      "0b11",
      { integer: true },
      "--x=0b11 is not valid: it must be a non-negative integer, in plain digits (like 0 or 4)",
    ],
    [
      "1_000",
      { integer: true },
      "--x=1_000 is not valid: it must be a non-negative integer, in plain digits (like 0 or 4)",
    ],
    [
      "5\n",
      COUNT,
      '--x="5\\n" is not valid: it must be a positive integer, in plain digits (like 4)',
    ],
    [
      "99999999999999999999",
      { integer: true },
      "--x=99999999999999999999 is not valid: it must be a non-negative integer, in plain digits (like 0 or 4)",
    ],
    [
      "65536",
      { integer: true, min: 1, max: 65535 },
      "--x=65536 is not valid: it must be an integer from 1 to 65535, in plain digits",
    ],
  ];
  for (const [text, rule, message] of refused) {
    assert.throws(
      () => parseNumberSetting("--x", text, rule),
      (error: Error) => {
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, message);
        assert.equal(error.message.split("\n").length, 1, "one line");
        return true;
      },
      JSON.stringify(text),
    );
  }
});

Deno.test("number setting: KQUEUE_* and Laravel's variables go through the same reader", () => {
  const lease = readLeaseEnv(envOf({ KQUEUE_LEASE: "15", KQUEUE_LEASE_RENEW: "2.5" }));
  assert.deepEqual(lease, { lease: 15, leaseRenew: 2.5 });
  assert.deepEqual(readLeaseEnv(envOf({ KQUEUE_LEASE: "" })), {}, "empty is unset, as before");
  const config = readQueueConfig(
    envOf({ DB_QUEUE_RETRY_AFTER: "90.5", REDIS_PORT: "6380", REDIS_DB: "2" }),
    "/app",
  );
  assert.equal(config.database.retryAfter, 90.5);
  assert.equal(config.redis.port, 6380);
  assert.equal(config.redis.database, 2);

  const refused: Array<[Record<string, string>, RegExp]> = [
    [
      { KQUEUE_LEASE: "0x10" },
      /KQUEUE_LEASE=0x10 is not valid: it must be a non-negative number of seconds, in plain digits/,
    ],
    [
      { KQUEUE_LEASE_RENEW: "Infinity" },
      /KQUEUE_LEASE_RENEW=Infinity is not valid: it must be a positive number of seconds/,
    ],
    [{ KQUEUE_LIVENESS_LIMIT: " 5" }, /KQUEUE_LIVENESS_LIMIT=" 5" is not valid/],
    [
      { DB_QUEUE_RETRY_AFTER: "1e2" },
      /DB_QUEUE_RETRY_AFTER=1e2 is not valid: it must be a positive number of seconds/,
    ],
    [{ REDIS_QUEUE_RETRY_AFTER: "0x5A" }, /REDIS_QUEUE_RETRY_AFTER=0x5A is not valid/],
    [
      { REDIS_PORT: "0x18EB" },
      /REDIS_PORT=0x18EB is not valid: it must be an integer from 1 to 65535, in plain digits$/,
    ],
    [{ REDIS_DB: "1.0" }, /REDIS_DB=1.0 is not valid: it must be an integer from 0 to 2147483647/],
    [{ REDIS_CACHE_DB: "1e0" }, /REDIS_CACHE_DB=1e0 is not valid/],
  ];
  for (const [vars, message] of refused) {
    const read = () => {
      readQueueConfig(envOf(vars), "/app");
      readLeaseEnv(envOf(vars));
    };
    assert.throws(read, message, JSON.stringify(vars));
  }
  assert.equal(parseRedisUrl("redis://host/3").db, 3);
  assert.throws(() => parseRedisUrl("redis://host/0x3"), /REDIS_URL names database "0x3"/);
  assert.throws(() => parseRedisUrl("redis://host?db=1e1"), /REDIS_URL names database "1e1"/);
});
