/**
 * The payload fuzz against real daemons: 10,000 random and mutated payloads
 * on a real SQLite file (and 3,000 on a real redis-server), drained by a real
 * daemon process. 0 crashes; every payload the oracle refuses is in
 * failed_jobs with the oracle's reason; every other one is done; the queue
 * ends empty. KQUEUE_FUZZ_SEED replays or explores.
 */
import assert from "node:assert/strict";
import { openConnection, type QueueConnection } from "../src/mod.ts";
import { DaemonProcess, exitedOk, isEvent } from "./helpers/daemon_process.ts";
import { FUZZ_SEED, type FuzzCase, PayloadFuzzer } from "./helpers/payload_fuzz.ts";
import { FUZZ_JOBS, fuzzRegistry, predict, type Prediction } from "./helpers/payload_oracle.ts";
import { assertQueueEmpty, tempQueue } from "./helpers/temp_project.ts";
import { RedisServer } from "./redis_fixtures/redis_server.ts";
import { CJSON_REASON, NO_ATTEMPTS_REASON } from "../src/drivers/redis/invalid_payloads.ts";

interface Checked {
  readonly cases: readonly FuzzCase[];
  readonly predictions: readonly Prediction[];
}

async function generate(count: number, seed: number): Promise<Checked> {
  const registry = await fuzzRegistry();
  const fuzzer = new PayloadFuzzer(seed);
  const now = Math.floor(Date.now() / 1000);
  // Storage holds UTF-8: a lone surrogate comes back as U+FFFD, so judge what is stored.
  const cases = fuzzer.cases(count).map((c) => ({ ...c, text: c.text.toWellFormed() }));
  return { cases, predictions: cases.map((c) => predict(c.text, registry, now)) };
}

function drain(env: Record<string, string>, extra: string[] = []): Promise<DaemonProcess> {
  return exitedOk(
    new DaemonProcess([
      "work",
      "--json",
      "--jobs",
      FUZZ_JOBS,
      "--stop-when-drained",
      "--sleep=1",
      "--concurrency=50",
      // A few payloads sit near the 8 MiB cap: reading them takes the daemon past the
      // default 128 MB, where it would (rightly) stop and exit 12 for its supervisor.
      "--memory=512",
      ...extra,
    ], env),
    180_000,
  );
}

/**
 * Every good case done (by uuid, as a multiset), every bad one in failed_jobs
 * with a reason the oracle gave for it (`alsoAccept`: store-specific reasons).
 */
async function assertOutcomes(
  { cases, predictions }: Checked,
  daemon: DaemonProcess,
  failed: QueueConnection["failed"],
  stored: readonly string[] = cases.map((c) => c.text),
  alsoAccept: (exception: string) => boolean = () => false,
): Promise<void> {
  const where = (i: number) =>
    `${cases[i]!.origin} (seed ${FUZZ_SEED}): ${cases[i]!.text.slice(0, 200)}`;
  assert.deepEqual(daemon.events.filter(isEvent("worker:uncaught")), [], "no uncaught error");
  const done = new Map<string, number>();
  for (const event of daemon.events.filter(isEvent("job:done"))) {
    done.set(event.job!.uuid, (done.get(event.job!.uuid) ?? 0) + 1);
  }
  const rows = await failed.list();
  // Every failure was reported (a Redis payload with no attempts included), none silently.
  assert.equal(
    daemon.events.filter(isEvent("job:failed")).length,
    rows.length,
    "a job:failed per row",
  );
  const byUuid = new Map(rows.map((row) => [row.uuid, row]));
  const byPayload = new Map<string, typeof rows>();
  for (const row of rows) byPayload.set(row.payload, [...(byPayload.get(row.payload) ?? []), row]);

  const goodUuids = new Map<string, number>();
  const reasonsByUuid = new Map<string, string[]>();
  let withoutUuid = 0;
  predictions.forEach((prediction, i) => {
    if (prediction.good) {
      const uuid = prediction.uuid ?? "";
      goodUuids.set(uuid, (goodUuids.get(uuid) ?? 0) + 1);
      return;
    }
    if (prediction.uuid !== undefined) {
      reasonsByUuid.set(prediction.uuid, [
        ...(reasonsByUuid.get(prediction.uuid) ?? []),
        prediction.reason,
      ]);
      return;
    }
    withoutUuid++;
    const candidates = byPayload.get(stored[i]!) ?? [];
    assert.ok(
      candidates.some((row) =>
        row.exception.includes(prediction.reason) || alsoAccept(row.exception)
      ),
      `failed with "${prediction.reason.slice(0, 120)}": ${where(i)}; rows: ${
        candidates.map((r) => r.exception.split("\n")[0]).join(" | ")
      }`,
    );
  });
  for (const [uuid, reasons] of reasonsByUuid) {
    const row = byUuid.get(uuid);
    assert.ok(row, `a failed_jobs row for ${uuid} (${reasons[0]})`);
    // Cases that share a uuid (a splice of two payloads) share Laravel's one row per uuid.
    assert.ok(
      reasons.some((reason) => row.exception.includes(reason)) || alsoAccept(row.exception),
      `${uuid}: expected ${JSON.stringify(reasons)}, got ${row.exception.split("\n")[0]}`,
    );
  }
  // A store may refuse what the decoder takes (Redis' cjson): that good job is failed, by its uuid.
  let refusedByStore = 0;
  for (const [uuid, count] of goodUuids) {
    const row = byUuid.get(uuid);
    if (row && !reasonsByUuid.has(uuid) && alsoAccept(row.exception)) {
      refusedByStore++;
      if (count === 1) goodUuids.delete(uuid);
      else goodUuids.set(uuid, count - 1);
    }
  }
  assert.ok(refusedByStore < 20, `${refusedByStore} refused by the store`);
  assert.equal(
    rows.length,
    reasonsByUuid.size + withoutUuid + refusedByStore,
    "one failed_jobs row per bad job",
  );
  assert.deepEqual(
    [...done.entries()].sort(),
    [...goodUuids.entries()].sort(),
    "every good job done, exactly once",
  );
}

Deno.test(`payload fuzz: 10,000 payloads through a real daemon on SQLite; bad ones failed with their reason, good ones done (seed ${FUZZ_SEED})`, async () => {
  const q = await tempQueue();
  try {
    const checked = await generate(10_000, FUZZ_SEED);
    const good = checked.predictions.filter((p) => p.good).length;
    assert.ok(good > 2_500 && good < 7_500, `a mix: ${good} good`);
    assert.ok(checked.predictions.some((p) => p.good && p.isolated), "some run isolated");
    await q.connection.driver.pushMany("default", checked.cases.map((c) => c.text));
    const daemon = await drain(q.env());
    await assertOutcomes(checked, daemon, q.connection.failed);
    await assertQueueEmpty(q);
  } finally {
    await q.cleanup();
  }
});

Deno.test(`payload fuzz: 3,000 payloads through a real daemon on Redis; bad ones failed with their reason, good ones done (seed ${FUZZ_SEED + 1})`, async () => {
  const server = await RedisServer.start();
  const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-fuzz-" });
  const env = server.env({ REDIS_PREFIX: "fz_", DB_DATABASE: `${dir}/failed.sqlite` });
  const connection = await openConnection({ env: (name) => env[name] });
  try {
    const checked = await generate(3_000, FUZZ_SEED + 1);
    // Through the driver, as an app would push: it adds Laravel's id/attempts to JSON objects.
    const { withRedisKeys } = await import("../src/drivers/redis/redis_payload.ts");
    const stored = checked.cases.map((c) => withRedisKeys(c.text).text);
    const registry = await fuzzRegistry();
    const now = Math.floor(Date.now() / 1000);
    const asStored = {
      cases: checked.cases,
      predictions: stored.map((text) =>
        predict(text, registry, now, (raw) => Number(raw.attempts) + 1)
      ),
    };
    await connection.driver.pushMany("default", stored);
    const daemon = await drain(env);
    await assertOutcomes(
      asStored,
      daemon,
      connection.failed,
      stored,
      // Redis' cjson refuses a few texts that JSON.parse takes: failed with the Redis reason.
      (exception) => exception.includes(CJSON_REASON) || exception.includes(NO_ATTEMPTS_REASON),
    );
    const counts = await connection.driver.counts("default");
    assert.deepEqual([counts.ready, counts.delayed, counts.reserved], [0, 0, 0]);
  } finally {
    await connection.close();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
