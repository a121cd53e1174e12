/** What parsePayload refuses before any job code runs, and how it words it. */
import assert from "node:assert/strict";
import { PayloadError } from "../src/errors.ts";
import {
  CALL_QUEUED_HANDLER,
  MAX_PAYLOAD_DEPTH,
  parsePayload,
} from "../src/payload/laravel_payload.ts";
import { printable } from "../src/payload/untrusted_text.ts";

const command = 'O:4:"Noop":0:{}';
const payload = (fields: Record<string, unknown>) =>
  JSON.stringify({ job: CALL_QUEUED_HANDLER, data: { commandName: "Noop", command }, ...fields });

function refusal(text: string, maxBytes?: number): string {
  try {
    parsePayload(text, maxBytes);
  } catch (error) {
    assert.ok(error instanceof PayloadError, String(error));
    return error.message;
  }
  assert.fail(`accepted: ${text.slice(0, 80)}`);
}

Deno.test("payload: nesting is capped at PHP json_decode's 512 levels; brackets inside strings do not count", () => {
  const nested = (depth: number) =>
    payload({ extra: JSON.parse("[".repeat(depth) + "]".repeat(depth)) });
  // The payload object itself is one level.
  assert.ok(parsePayload(nested(MAX_PAYLOAD_DEPTH - 1)));
  assert.equal(refusal(nested(MAX_PAYLOAD_DEPTH)), "Payload nests JSON deeper than 512 levels");
  assert.ok(parsePayload(payload({ extra: "[".repeat(5000) + '\\"{'.repeat(100) })));
});

Deno.test("payload: the size cap counts UTF-8 bytes, not UTF-16 units", () => {
  const ascii = payload({ extra: "x".repeat(100) });
  assert.ok(parsePayload(ascii, ascii.length));
  assert.equal(
    refusal(ascii, ascii.length - 1),
    `Payload is at least ${ascii.length} bytes, over the ${ascii.length - 1}-byte limit`,
  );
  const wide = payload({ extra: "é".repeat(100) }); // 2 bytes each in UTF-8
  assert.match(
    refusal(wide, wide.length + 50),
    new RegExp(`^Payload is ${wide.length + 100} bytes`),
  );
  assert.match(
    refusal("x".repeat(20), 10),
    /^Payload is at least 20 bytes, over the 10-byte limit$/,
  );
});

Deno.test("payload: a CallQueuedHandler payload needs data.command; other handlers are left to their worker", () => {
  const missing = JSON.stringify({ job: CALL_QUEUED_HANDLER, data: { commandName: "Noop" } });
  assert.equal(
    refusal(missing),
    `Payload for ${CALL_QUEUED_HANDLER} has no "data.command" string (the serialized job)`,
  );
  assert.match(refusal(JSON.stringify({ job: CALL_QUEUED_HANDLER })), /no "data\.command"/);
  assert.equal(
    parsePayload(JSON.stringify({ job: "App\\Legacy@handle", data: [] })).job,
    "App\\Legacy@handle",
  );
  assert.equal(refusal("null"), "Payload must be a JSON object, got null");
});

Deno.test("payload: an empty uuid is no uuid; one that is not printable or too long is refused", () => {
  assert.equal(parsePayload(payload({ uuid: "" })).uuid, undefined);
  assert.equal(parsePayload(payload({ uuid: "abc-123" })).uuid, "abc-123");
  assert.match(
    refusal(payload({ uuid: "x\u001b[2Jy" })),
    /^Payload "uuid" must be printable text of at most 255 characters, got "x\\\\u001b\[2Jy"$/,
  );
  assert.match(
    refusal(payload({ uuid: "u".repeat(256) })),
    /must be printable text of at most 255/,
  );
});

Deno.test("payload: text quoted from a payload is escaped (no forged log lines, no terminal escapes, no NUL)", () => {
  const message = refusal('{"job":"\u001b[31mred\nforged\u0000');
  assert.ok(![...message].some((c) => c.charCodeAt(0) < 0x20), JSON.stringify(message));
  assert.match(message, /^Payload is not valid JSON \(/);
  assert.equal(
    printable("a\nb\u001b\u0000\u2028\ud800😀"),
    "a\\u000ab\\u001b\\u0000\\u2028\\ud800😀",
  );
  assert.equal(printable("x".repeat(300), 5), "xxxxx…");
});
