/**
 * The payload decoder under ≥ 10,000 random and mutated payloads (seeded;
 * KQUEUE_FUZZ_SEED replays or explores): parse → class → limits → hydrate
 * either accepts a payload or refuses it with a PayloadError that names the
 * reason. Any other error is a crash. The daemon fuzz (daemon_payload_fuzz_test.ts)
 * then checks a running daemon does exactly what this oracle says.
 */
import assert from "node:assert/strict";
import { FUZZ_SEED, PayloadFuzzer } from "./helpers/payload_fuzz.ts";
import { fuzzRegistry, predict } from "./helpers/payload_oracle.ts";

Deno.test(`payload fuzz: 12,000 payloads through the decoder, 0 crashes, every refusal names its reason (seed ${FUZZ_SEED})`, async () => {
  const registry = await fuzzRegistry();
  const fuzzer = new PayloadFuzzer(FUZZ_SEED);
  const now = Math.floor(Date.now() / 1000);
  const reasons = new Map<string, number>();
  let good = 0;
  for (let i = 0; i < 12_000; i++) {
    const { text, origin } = fuzzer.one(i);
    let prediction;
    try {
      prediction = predict(text, registry, now);
    } catch (error) {
      assert.fail(
        `crash on ${origin} (seed ${FUZZ_SEED}): ${(error as Error).stack}\n${text.slice(0, 300)}`,
      );
    }
    if (prediction.good) {
      good++;
      continue;
    }
    assert.ok(
      prediction.reason.length > 10,
      `${origin}: a reason, got ${JSON.stringify(prediction.reason)}`,
    );
    const kind = prediction.reason.replace(/["“][^"”]*["”]|\d+/g, "…").slice(0, 50);
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  // Both kinds in bulk: a fuzzer that only made junk (or only valid payloads) proves little.
  assert.ok(good > 3_000, `${good} good payloads`);
  assert.ok(12_000 - good > 3_000, `${12_000 - good} bad payloads`);
  assert.ok(reasons.size > 15, `distinct refusals: ${[...reasons.keys()].join(" | ")}`);
});
