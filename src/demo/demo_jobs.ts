/** The demo's mix: every path the runtime has, from the example classes in ./jobs. */
import { ChargeCard } from "../../jobs/charge_card.ts";
import { ComputePrimes } from "../../jobs/compute_primes.ts";
import { FlakyApiCall } from "../../jobs/flaky_api_call.ts";
import { ReadSecret } from "../../jobs/read_secret.ts";
import { RenderReport } from "../../jobs/render_report.ts";
import { SendWelcomeEmail } from "../../jobs/send_welcome_email.ts";

export async function dispatchDemoJobs(): Promise<number> {
  const jobs: Promise<unknown>[] = [];
  for (let i = 1; i <= 20; i++) {
    jobs.push(SendWelcomeEmail.dispatch({ to: `user${i}@example.test`, name: `User ${i}` }));
  }
  jobs.push(ComputePrimes.dispatch({ below: 2_000_000 }));
  jobs.push(ComputePrimes.dispatch({ below: 3_000_000 }));
  jobs.push(ReadSecret.dispatch({ file: ".env" }));
  jobs.push(FlakyApiCall.dispatch({ endpoint: "/v1/orders/42" }));
  jobs.push(ChargeCard.dispatch({ orderId: 1001, cents: 4999 }));
  jobs.push(RenderReport.dispatch({ report: "yearly" }));
  await Promise.all(jobs);
  return jobs.length;
}
