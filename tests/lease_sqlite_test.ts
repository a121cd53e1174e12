/**
 * Leases on the database queue (a real SQLite file, real daemon processes):
 * a reservation is a short lease the daemon's supervisor Worker extends
 * while the job is alive. Scenarios in tests/helpers/lease_scenarios.ts;
 * each test runs its scenarios side by side (whole-second clocks make each
 * one cost seconds).
 */
import {
  blockLongerThanLease,
  killRecovers,
  longJobRunsOnce,
  wedgeLapses,
} from "./helpers/lease_scenarios.ts";

Deno.test("leases (sqlite): a 20 s job with retry_after=3 runs once while a second daemon watches; a release and a fail after many extensions still match; a main thread blocked (CPU) past the lease does not hand its job over", async () => {
  await Promise.all([longJobRunsOnce("sqlite"), blockLongerThanLease("sqlite", true)]);
});

Deno.test("leases (sqlite): kill -9 → the job runs again on another daemon within the lease; a main thread wedged past the liveness limit lets the lease lapse", async () => {
  await Promise.all([killRecovers("sqlite"), wedgeLapses("sqlite")]);
});
