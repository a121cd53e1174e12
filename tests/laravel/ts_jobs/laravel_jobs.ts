/**
 * KQueue jobs that serve the harness's Laravel classes (`static laravel`):
 * the same names and properties as ../app/Jobs/*.php, so a payload written by
 * either side runs on the other. None declares tries/backoff/timeout unless
 * its PHP twin does, so for Laravel-dispatched jobs the limits come from the
 * payload alone, as they do for Laravel's worker.
 */
import { type JobContext, KQueueJob } from "../../../src/mod.ts";
import { readRuns, recordRun } from "./_record.ts";

/** Every PHP type: string (UTF-8), int, float, bool, null, nested arrays, protected + private. */
export class SendWelcomeEmail extends KQueueJob {
  static override laravel = "App\\Jobs\\SendWelcomeEmail";
  static override phpVisibility = { locale: "protected", secret: "private" } as const;
  static readonly FIELDS = [
    "email",
    "subject",
    "count",
    "ratio",
    "vip",
    "nickname",
    "tags",
    "profile",
    "meta",
    "locale",
    "secret",
  ] as const;

  email = "";
  subject = "";
  count = 0;
  ratio = 0;
  vip = false;
  nickname: string | null = null;
  tags: string[] = [];
  profile: Record<string, unknown> = {};
  meta: Record<string, unknown> = {};
  /** `protected string $locale` in PHP. */
  locale = "en";
  /** `private string $secret` in PHP. */
  secret = "none";

  override async handle(context: JobContext): Promise<void> {
    await recordRun(this, context, SendWelcomeEmail.FIELDS);
  }
}

/** Its limits come only from the Laravel payload: tries 1, backoff "1,2", retryUntil, maxExceptions 3. */
export class ConfiguredJob extends KQueueJob {
  static override laravel = "App\\Jobs\\ConfiguredJob";
  throwUntil = 0;
  retryFor = 600;

  override async handle(context: JobContext): Promise<void> {
    await recordRun(this, context, ["throwUntil", "retryFor"]);
    if (context.attempt <= this.throwUntil) {
      throw new Error(`ConfiguredJob throws on attempt ${context.attempt}`);
    }
  }
}

/**
 * Throws until attempt `succeedOn`. Its tries/backoff are what the PHP class
 * gives for retryDelay = 1, and go into the payloads KQueue dispatches; for a
 * Laravel payload (backoff "3,6" for retryDelay = 3) the payload's win.
 */
export class FlakyJob extends KQueueJob {
  static override laravel = "App\\Jobs\\FlakyJob";
  override tries = 3;
  override backoff = [1, 2];
  succeedOn = 2;
  retryDelay = 1;

  override async handle(context: JobContext): Promise<void> {
    await recordRun(this, context, ["succeedOn", "retryDelay"]);
    if (context.attempt < this.succeedOn) {
      throw new Error(`flaky failure on attempt ${context.attempt}`);
    }
  }
}

/** Waits `seconds`, honouring its signal: the payload's timeout (1 s) aborts it. */
export class SlowJob extends KQueueJob {
  static override laravel = "App\\Jobs\\SlowJob";
  seconds = 5;

  override async handle(context: JobContext): Promise<void> {
    await recordRun(this, context, ["seconds"]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, this.seconds * 1000);
      context.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(context.signal.reason);
      }, { once: true });
    });
  }
}

/** Fails on its first run ever (per uuid, either side), succeeds after a queue:retry. */
export class FailsFirstTime extends KQueueJob {
  static override laravel = "App\\Jobs\\FailsFirstTime";
  note = "";

  override async handle(context: JobContext): Promise<void> {
    await recordRun(this, context, ["note"]);
    const runs = (await readRuns()).filter((run) => run.uuid === context.uuid);
    if (runs.length === 1) throw new Error(`first run of "${this.note}" fails`);
  }
}

/** Throws every time. */
export class AlwaysFails extends KQueueJob {
  static override laravel = "App\\Jobs\\AlwaysFails";
  note = "";

  override async handle(context: JobContext): Promise<void> {
    await recordRun(this, context, ["note"]);
    throw new Error(`always fails: ${this.note}`);
  }
}
