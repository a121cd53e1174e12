/** Our payloads against the ones real Laravel 8 wrote (tests/fixtures/laravel, copied from the team's captures of real Laravel 8.83), field by field. */
import assert from "node:assert/strict";
import { KQueueJob } from "../src/mod.ts";
import { prepareDispatch } from "../src/dispatch.ts";
import { hydrateJob } from "../src/jobs/hydrate.ts";
import { parsePayload } from "../src/payload/laravel_payload.ts";

const FIXTURES = new URL("./fixtures/laravel/", import.meta.url);
const fixture = JSON.parse(await Deno.readTextFile(new URL("03-database-dispatch.json", FIXTURES)));
const laravelRows: Array<{ queue: string; payload: string }> = fixture.state.jobs;
const laravelPayload = (displayName: string) =>
  JSON.parse(
    laravelRows.find((row) => JSON.parse(row.payload).displayName === displayName)!.payload,
  );

class ConfiguredJob extends KQueueJob {
  static override laravel = "App\\Jobs\\ConfiguredJob";
  label = "x";
  override tries = 3;
  override maxExceptions = 2;
  override failOnTimeout = true;
  override backoff = [1, 5, 10];
  override timeout = 30;
  override retryUntil(): Date {
    return new Date(Date.now() + 3600_000);
  }
  override handle(): void {}
}

Deno.test("payload: same keys in the same order and the same types as Laravel's ConfiguredJob", () => {
  const ours = JSON.parse(prepareDispatch(ConfiguredJob, {}).payload);
  const theirs = laravelPayload("App\\Jobs\\ConfiguredJob");
  assert.deepEqual(Object.keys(ours), Object.keys(theirs));
  assert.deepEqual(Object.keys(ours.data), Object.keys(theirs.data));
  for (const key of Object.keys(theirs)) assert.equal(typeof ours[key], typeof theirs[key], key);
  assert.equal(ours.job, theirs.job);
  assert.equal(ours.displayName, "App\\Jobs\\ConfiguredJob");
  assert.equal(ours.data.commandName, "App\\Jobs\\ConfiguredJob");
  assert.equal(ours.maxTries, 3);
  assert.equal(ours.maxExceptions, 2);
  assert.equal(ours.failOnTimeout, true);
  assert.equal(ours.backoff, theirs.backoff, 'backoff as Laravel\'s comma string "1,5,10"');
  assert.equal(ours.timeout, 30);
  assert.ok(
    Number.isInteger(ours.retryUntil) && ours.retryUntil > Date.now() / 1000,
    "retryUntil in unix seconds",
  );
  assert.match(ours.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(ours.data.command, /^O:22:"App\\Jobs\\ConfiguredJob":1:\{s:5:"label";s:1:"x";\}$/);
  assert.equal("delay" in ours, false, "never a top-level delay key");
});

Deno.test("payload: a job with no config writes Laravel's nulls, like SendEmail's row", () => {
  class Plain extends KQueueJob {
    to = "";
    override handle(): void {}
  }
  const ours = JSON.parse(prepareDispatch(Plain, { to: "a@b.c" }).payload);
  const theirs = laravelPayload("App\\Jobs\\SendEmail");
  for (
    const key of ["maxTries", "maxExceptions", "backoff", "timeout", "retryUntil", "failOnTimeout"]
  ) {
    assert.equal(ours[key], theirs[key], key);
  }
});

class SendEmail extends KQueueJob {
  static override laravel = "App\\Jobs\\SendEmail";
  to = "";
  subject = "";
  vars: Record<string, unknown> = {};
  locale = "";
  override handle(): void {}
}

Deno.test("payload: Laravel's SendEmail command hydrates a TS job (protected props, UTF-8, nested arrays), after construction", () => {
  const parsed = parsePayload(JSON.stringify(laravelPayload("App\\Jobs\\SendEmail")));
  assert.equal(parsed.commandName, "App\\Jobs\\SendEmail");
  const job = hydrateJob(SendEmail, parsed.command, "App\\Jobs\\SendEmail");
  assert.equal(job.to, "ada@example.test");
  assert.equal(job.subject, "Welcome ✓ / ünïcode");
  assert.deepEqual({ ...job.vars }, { plan: "pro", seats: 3 });
  assert.equal(job.locale, "en", "the protected \\0*\\0locale property");
  assert.equal(job.isolated, false);
  assert.equal(
    (job as unknown as Record<string, unknown>).connection,
    undefined,
    "Queueable's connection is config, never data",
  );
});

Deno.test("payload: round trip through dispatch and hydrate keeps every JSON-like value", () => {
  class Rich extends KQueueJob {
    text = "";
    count = 0;
    ratio = 0;
    flag = false;
    nothing: null | string = "x";
    list: unknown[] = [];
    map: Record<string, unknown> = {};
    override handle(): void {}
  }
  const data = {
    text: 'é ✓ "quoted" \\ /',
    count: -42,
    ratio: 0.1,
    flag: true,
    nothing: null,
    list: [1, "two", [3]],
    map: { a: { b: [] }, "5": "five" },
  };
  const parsed = parsePayload(prepareDispatch(Rich, data).payload);
  const job = hydrateJob(Rich, parsed.command, "Rich");
  assert.deepEqual(
    {
      text: job.text,
      count: job.count,
      ratio: job.ratio,
      flag: job.flag,
      nothing: job.nothing,
      list: job.list,
      map: JSON.parse(JSON.stringify(job.map)),
    },
    data,
  );
});

Deno.test("payload: dispatch refuses values that are not JSON-like, naming the field", () => {
  class Typed extends KQueueJob {
    when: unknown = null;
    override handle(): void {}
  }
  assert.throws(
    () => prepareDispatch(Typed, { when: new Date() }),
    /Cannot serialize Typed\.when: a Date is not JSON-like/,
  );
  assert.throws(
    () => prepareDispatch(Typed, { when: undefined }),
    /undefined is not JSON-like \(use null\)/,
  );
  assert.throws(() => prepareDispatch(Typed, { when: NaN }), /NaN is not JSON-like/);
});

Deno.test("payload: a field takes its default's type; PHP data of another type is a PayloadError naming it", () => {
  class Typed extends KQueueJob {
    count = 0;
    name = "";
    note: string | null = null;
    override handle(): void {}
  }
  const command = (props: string) => `O:5:"Typed":1:{${props}}`;
  assert.throws(
    () => hydrateJob(Typed, command('s:5:"count";s:3:"abc";'), "Typed"),
    /Cannot hydrate Typed\.count: it is a number field \(by its default\), got a string/,
  );
  assert.throws(
    () => hydrateJob(Typed, command('s:5:"count";i:9223372036854775807;'), "Typed"),
    /got an integer too large for a JavaScript number/,
  );
  assert.equal(hydrateJob(Typed, command('s:4:"name";N;'), "Typed").name, null, "null is allowed");
  assert.equal(
    hydrateJob(Typed, command('s:4:"note";s:2:"hi";'), "Typed").note,
    "hi",
    "a null default takes anything",
  );
});
