/** The Redis driver: Laravel's Redis queue layout. Loads ioredis. */
export { RedisQueue } from "./redis_queue.ts";
export type { RedisLostReservation, RedisQueueOptions } from "./redis_queue_options.ts";
export {
  RedisExceptionCounter,
  type RedisExceptionCounterOptions,
} from "./redis_exception_counter.ts";
export {
  describeEndpoint,
  endpointsFromConfig,
  parseRedisUrl,
  type RedisEndpoint,
} from "./redis_endpoint.ts";
export { type QueueKeys, queueKeys } from "./keys.ts";
export { randomJobId, withRedisKeys } from "./redis_payload.ts";
export { openRedisConnection } from "./open_redis_connection.ts";
