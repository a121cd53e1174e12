/**
 * Leases on the Redis queue (a real redis-server on a free port, real daemon
 * processes): the `:reserved` score is an absolute expiry that the
 * daemon's supervisor Worker moves on while the job is alive. Scenarios in
 * tests/helpers/lease_scenarios.ts, run side by side.
 */
import {
  blockLongerThanLease,
  killRecovers,
  longJobRunsOnce,
  wedgeLapses,
} from "./helpers/lease_scenarios.ts";

Deno.test("leases (redis): a 20 s job with retry_after=3 runs once while a second daemon watches; a release and a fail after many extensions still match; a main thread blocked past the lease does not hand its job over", async () => {
  await Promise.all([longJobRunsOnce("redis"), blockLongerThanLease("redis", false)]);
});

Deno.test("leases (redis): kill -9 → the job runs again on another daemon within the lease; a main thread wedged past the liveness limit lets the lease lapse", async () => {
  await Promise.all([killRecovers("redis"), wedgeLapses("redis")]);
});
