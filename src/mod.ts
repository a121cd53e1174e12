/**
 * KQueue's public API.
 *
 * Job authors need only `KQueueJob` (and its types); the daemon pieces are
 * here for programs that embed the runtime. This module loads no storage
 * client: drivers are imported when a connection is opened.
 */
export {
  type DispatchOptions,
  type DispatchResult,
  isJobClass,
  type JobClass,
  type JobContext,
  type JobData,
  KQueueJob,
} from "./jobs/job.ts";
export type { JobPermissions } from "./jobs/permissions.ts";
export {
  ChildCrashedError,
  KQueueError,
  MaxAttemptsExceededError,
  MemoryLimitExceededError,
  PayloadError,
  PermissionDeniedError,
  QueueUnusableError,
  StoreRefusedError,
  StoreUnreachableError,
  TimeoutExceededError,
  UnrecoverableError,
} from "./errors.ts";
export { closeConnections, getConnection, prepareDispatch, useConnection } from "./dispatch.ts";
export { openConnection, type OpenConnectionOptions, type QueueConnection } from "./connection.ts";
export { type QueueConfig, readQueueConfig } from "./config/env.ts";
export { discoverJobs } from "./jobs/discover.ts";
export { jobNameOf, JobRegistry, type RegisteredJob } from "./jobs/registry.ts";
export { Daemon, type DaemonResult } from "./runtime/daemon.ts";
export type { DaemonOptions } from "./runtime/options.ts";
export {
  EventBus,
  type EventName,
  type JobRef,
  type KQueueEvents,
  type SettleOperation,
  type StopReason,
} from "./events.ts";
export type { FailedJobRecord, QueueCounts, QueueDriver, ReservedJob } from "./drivers/driver.ts";
