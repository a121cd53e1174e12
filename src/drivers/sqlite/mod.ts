/** The SQLite driver: Laravel's database queue layout in a SQLite file. */
export { SqliteQueue } from "./sqlite_queue.ts";
export type { LostReservation, SqliteQueueOptions } from "./sqlite_queue_options.ts";
export { SqliteFailedJobStore, type SqliteFailedJobStoreOptions } from "./sqlite_failed_store.ts";
export {
  SqliteExceptionCounter,
  type SqliteExceptionCounterOptions,
} from "./sqlite_exception_counter.ts";
export { SqliteConnection } from "./connection.ts";
export { openSqliteDatabase, type OpenSqliteDatabaseOptions } from "./schema.ts";
export { SqliteBusyError } from "./busy.ts";
