/** `kqueue help [command]`. */
const OVERVIEW = `KQueue: a queue runtime for Laravel-style jobs (Deno).

Usage: deno task kqueue <command> [flags]

Commands:
  work [connection]            Run the daemon (Laravel's queue:work)
  dispatch <Job> ['<json>']    Put a job on a queue
  failed                       List failed jobs (Laravel's queue:failed)
  retry <uuid…|all>            Push failed jobs back (Laravel's queue:retry)
  forget <uuid…>               Delete failed jobs (Laravel's queue:forget)
  create-tables                Create jobs/failed_jobs/cache tables in an existing database
  help [command]               This help, or a command's flags

Environment (Laravel's names): QUEUE_CONNECTION=database, DB_CONNECTION=sqlite,
DB_DATABASE=database/database.sqlite, DB_QUEUE=default, DB_QUEUE_TABLE=jobs,
DB_QUEUE_RETRY_AFTER=90, APP_NAME / CACHE_PREFIX (maxExceptions counters).
KQueue's own: KQUEUE_LEASE=15, KQUEUE_LEASE_RENEW, KQUEUE_LIVENESS_LIMIT (see help work).`;

const COMMANDS: Record<string, string> = {
  work: `Usage: deno task kqueue work [connection] [flags]

  --queue=high,default         Queues in priority order (default: DB_QUEUE)
  --concurrency=N              Jobs in flight at once (default 10)
  --isolated-concurrency=N     Isolated jobs running at once (handle() or failed()), all classes
                               (default: CPUs)
  --max-jobs-per-child=N       Jobs a child runs before it is replaced (default 1: a fresh
                               process per job; more = faster, but jobs share module state)
  --pool-min=N                 Warm children kept per isolated job class in use (default 1)
  --pool-max=N                 Children per isolated job class at most (default: isolated + 1)
  --pool-recycle-rss=MB        Replace a child past this RSS after its job (default 0 = off)
  --pool-idle-timeout=S        End a child idle this long (default 60; 0 = never)
  --pool-start-timeout=S       A new child must load its job class within S (default 20)
  --spawn-rate=N               Child spawns per second at most, daemon-wide (default 20 × CPUs)
  --tries=N                    Attempts when the job does not say (default 1; 0 = unlimited)
  --timeout=S                  Seconds per attempt when the job does not say (default 60; 0 = none)
  --backoff=S[,S…]             Seconds before a retry when the job does not say (default 0)
  --memory=MB                  Stop taking jobs, drain and exit 12 past this much heap (default 128)
  --max-jobs=N                 Stop after N jobs
  --max-time=S                 Stop after S seconds
  --sleep=S                    Longest idle wait between checks for due jobs; above 0 (default 3)
  --retry-after=S              Laravel's retry_after: how long an unextended reservation lasts
                               (default DB_QUEUE_RETRY_AFTER / REDIS_QUEUE_RETRY_AFTER, 90)
  --lease=S                    Reservations last S s and are extended while the job is alive
                               (default KQUEUE_LEASE, 15; 0 = off: they last retry_after)
  --lease-renew=S              Seconds between extensions (default KQUEUE_LEASE_RENEW, lease/3)
  --liveness-limit=S           Pause extension once the main thread is silent this long
                               (default KQUEUE_LIVENESS_LIMIT, 2 x renew; below --lease)
  --shutdown-timeout=S         On SIGTERM, seconds in-flight jobs get before kill + requeue (default 25)
  --unknown-jobs=fail|leave    A job with no KQueue class: fail it (default), or leave it for
                               another worker (a Laravel worker on the same queue)
  --unknown-delay=S            Seconds a left job waits before it is due again (default 10)
  --store-timeout=S            Give up (exit 1) when the store stays unreachable this long (default 60)
  --stop-when-empty            Stop when no job is ready (delayed jobs ignored, as Laravel)
  --stop-when-drained          Stop when nothing is ready, delayed, reserved or running
  --once                       Run one job, then stop
  --json                       One JSON line per event on stdout
  --jobs=DIR                   Where job classes live (default ./jobs)
  --database=PATH              SQLite file (default DB_DATABASE)
  --connection=NAME            Queue connection (default QUEUE_CONNECTION)
  --allow-unscoped=Job[,Job…]  Let these isolated jobs have the unscoped grants they declare
                               (permissions.x = "all", or the path /); refused otherwise
  --child-user=UID:GID|NAME    Run isolated children as this unprivileged user (daemon must be
                               root; default off: children run as the daemon's user); a start-up
                               probe refuses what it cannot run, read, load or write (the paths
                               jobs declare in permissions.write)

Numbers are plain digits: N is a whole number (4), S seconds and MB may have a fraction (2.5);
0x10, 1e3, " 5", Infinity, or 5.0 for an N are refused. KQUEUE_* and DB_/REDIS_ numbers too.

Signals: SIGTERM, SIGINT, SIGQUIT stop gracefully; a second one forces.`,
  dispatch: `Usage: deno task kqueue dispatch <JobName> ['{"field":"value"}'] [flags]

  --queue=NAME                 Queue (default: the job's queue, else DB_QUEUE)
  --delay=S                    Seconds before it may run
  --count=N                    Dispatch N copies
  --jobs=DIR                   Where job classes live (default ./jobs)
  --database=PATH              SQLite file (default DB_DATABASE)
  --connection=NAME            Queue connection (default QUEUE_CONNECTION)`,
  failed: `Usage: deno task kqueue failed [--database=PATH] [--json]

Lists failed_jobs rows: uuid, connection, queue, class, failed at, first line of the exception.`,
  retry: `Usage: deno task kqueue retry <uuid…|all> [--queue=NAME] [--jobs=DIR] [--database=PATH]

As Laravel's queue:retry: resets attempts where the payload has them, recomputes retryUntil from
the job's class, pushes the payload back on its connection and queue, deletes the failed row.`,
  forget: `Usage: deno task kqueue forget <uuid…> [--database=PATH]

Deletes failed_jobs rows (Laravel's queue:forget).`,
  "create-tables": `Usage: deno task kqueue create-tables [--database=PATH]

Creates Laravel's jobs, failed_jobs and cache tables where missing. KQueue creates them
on its own only in a database file it creates; in a Laravel app prefer
php artisan queue:table && php artisan queue:failed-table && php artisan migrate.`,
};

export function helpText(command?: string): string | undefined {
  if (command === undefined) return OVERVIEW;
  return COMMANDS[command];
}
