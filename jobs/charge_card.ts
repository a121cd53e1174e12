import { KQueueJob } from "../src/mod.ts";

/** Always declined: after its two tries it lands in failed_jobs, and failed() runs once. */
export class ChargeCard extends KQueueJob {
  orderId = 0;
  cents = 0;

  override tries = 2;
  override backoff = 1;

  override handle(): void {
    throw new Error(`card declined for order ${this.orderId} (${this.cents} cents)`);
  }

  override failed(error: Error): void {
    console.log(
      `ChargeCard.failed(): notifying support about order ${this.orderId}: ${error.message}`,
    );
  }
}
