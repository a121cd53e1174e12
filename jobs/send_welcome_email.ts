import { type JobContext, KQueueJob } from "../src/mod.ts";

/** An I/O-bound job: it waits on the network, so it runs inline and many run at once. */
export class SendWelcomeEmail extends KQueueJob {
  to = "";
  name = "";
  override timeout = 10;

  override async handle({ signal }: JobContext): Promise<void> {
    // Stands in for an SMTP round trip; honours the timeout signal like a real client would.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 150 + Math.random() * 100);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
  }
}
