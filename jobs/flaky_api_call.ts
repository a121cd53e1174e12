import { KQueueJob } from "../src/mod.ts";

/** Fails on its first attempt, succeeds on the retry one second later. */
export class FlakyApiCall extends KQueueJob {
  endpoint = "/v1/orders";

  override tries = 3;
  override backoff = [1, 5];

  override handle(): void {
    if (this.attempts() < 2) throw new Error(`${this.endpoint} answered 503 Service Unavailable`);
  }
}
