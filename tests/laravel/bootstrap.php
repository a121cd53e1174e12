<?php

/**
 * A minimal Laravel 8 application for the interop tests: the framework's own
 * service providers (events, database, redis, cache, bus, queue) registered on
 * a plain container, configured from the environment like a stock Laravel 8
 * app's config/*.php. No artisan install, no composer: everything comes from
 * Debian's php-laravel-framework (/usr/share/php/Illuminate/autoload.php).
 *
 * Environment (defaults in brackets):
 *   DB_DATABASE              the SQLite file (required)
 *   QUEUE_CONNECTION         [database]
 *   DB_QUEUE [default], DB_QUEUE_RETRY_AFTER [90]
 *   REDIS_HOST [127.0.0.1], REDIS_PORT [6379], REDIS_PASSWORD, REDIS_DB [0], REDIS_CACHE_DB [1]
 *   REDIS_URL                redis:// or rediss:// (TLS: phpredis trusts SSL_CERT_FILE); its parts win
 *   REDIS_PREFIX             [<slug(APP_NAME)>_database_], as Laravel 8's config/database.php
 *   REDIS_QUEUE [default], REDIS_QUEUE_RETRY_AFTER [90]
 *   CACHE_DRIVER [database] (table `cache`) or redis (connection `cache`)
 *   CACHE_PREFIX             [<slug(APP_NAME)>_cache], as Laravel 8's config/cache.php
 *   RECORD_FILE              where jobs append one JSON line per run (App\Harness\Recorder)
 *   REPORT_FILE              where the exception handler appends one JSON line per report
 *
 * Returns the container; Container::getInstance() and the facades point at it.
 */

use App\Harness\HarnessApp;
use App\Harness\RecordingExceptionHandler;
use Illuminate\Config\Repository;
use Illuminate\Support\Facades\Facade;
use Illuminate\Support\Str;

require_once '/usr/share/php/Illuminate/autoload.php';

error_reporting(E_ALL);
ini_set('display_errors', 'stderr');
ini_set('serialize_precision', '-1');
date_default_timezone_set('UTC');

spl_autoload_register(function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        $file = __DIR__ . '/app/' . str_replace('\\', '/', substr($class, 4)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

function harness_env(string $name, ?string $default = null): ?string
{
    $value = getenv($name);
    return $value === false || $value === '' ? $default : $value;
}

$database = harness_env('DB_DATABASE');
if ($database === null) {
    fwrite(STDERR, "laravel harness: set DB_DATABASE to the SQLite file\n");
    exit(2);
}
$appName = harness_env('APP_NAME', 'laravel');

$app = new HarnessApp();
HarnessApp::setInstance($app);
Facade::setFacadeApplication($app);

$app->instance('config', new Repository([
    'app' => ['name' => $appName, 'env' => 'testing', 'timezone' => 'UTC'],
    'database' => [
        'default' => 'sqlite',
        'connections' => [
            'sqlite' => [
                'driver' => 'sqlite',
                'database' => $database,
                'prefix' => '',
                'foreign_key_constraints' => true,
            ],
        ],
        'redis' => [
            'client' => 'phpredis',
            'options' => [
                'cluster' => 'redis',
                'prefix' => harness_env('REDIS_PREFIX', Str::slug($appName, '_') . '_database_'),
            ],
            'default' => [
                'url' => harness_env('REDIS_URL'),
                'host' => harness_env('REDIS_HOST', '127.0.0.1'),
                'password' => harness_env('REDIS_PASSWORD'),
                'port' => (int) harness_env('REDIS_PORT', '6379'),
                'database' => (int) harness_env('REDIS_DB', '0'),
            ],
            'cache' => [
                'url' => harness_env('REDIS_URL'),
                'host' => harness_env('REDIS_HOST', '127.0.0.1'),
                'password' => harness_env('REDIS_PASSWORD'),
                'port' => (int) harness_env('REDIS_PORT', '6379'),
                'database' => (int) harness_env('REDIS_CACHE_DB', '1'),
            ],
        ],
    ],
    'queue' => [
        'default' => harness_env('QUEUE_CONNECTION', 'database'),
        'connections' => [
            'database' => [
                'driver' => 'database',
                'table' => 'jobs',
                'queue' => harness_env('DB_QUEUE', 'default'),
                'retry_after' => (int) harness_env('DB_QUEUE_RETRY_AFTER', '90'),
                'after_commit' => false,
            ],
            'redis' => [
                'driver' => 'redis',
                'connection' => 'default',
                'queue' => harness_env('REDIS_QUEUE', 'default'),
                'retry_after' => (int) harness_env('REDIS_QUEUE_RETRY_AFTER', '90'),
                'block_for' => null,
                'after_commit' => false,
            ],
        ],
        'failed' => [
            'driver' => 'database-uuids',
            'database' => 'sqlite',
            'table' => 'failed_jobs',
        ],
    ],
    'cache' => [
        // maxExceptions counters live here (`job-exceptions:<uuid>`).
        'default' => harness_env('CACHE_DRIVER', 'database'),
        'stores' => [
            'database' => ['driver' => 'database', 'table' => 'cache', 'connection' => 'sqlite'],
            'redis' => ['driver' => 'redis', 'connection' => 'cache', 'lock_connection' => 'default'],
        ],
        'prefix' => harness_env('CACHE_PREFIX', Str::slug($appName, '_') . '_cache'),
    ],
]));

$app->singleton(\Illuminate\Contracts\Debug\ExceptionHandler::class, RecordingExceptionHandler::class);

$providers = [
    \Illuminate\Events\EventServiceProvider::class,
    \Illuminate\Database\DatabaseServiceProvider::class,
    \Illuminate\Redis\RedisServiceProvider::class,
    \Illuminate\Cache\CacheServiceProvider::class,
    \Illuminate\Bus\BusServiceProvider::class,
    \Illuminate\Queue\QueueServiceProvider::class,
];
$registered = [];
foreach ($providers as $class) {
    $registered[] = $provider = new $class($app);
    $provider->register();
}

// The container aliases Illuminate\Foundation\Application::registerCoreContainerAliases() sets up.
foreach ([
    'app' => [\Illuminate\Container\Container::class, \Illuminate\Contracts\Container\Container::class, \Psr\Container\ContainerInterface::class],
    'cache' => [\Illuminate\Cache\CacheManager::class, \Illuminate\Contracts\Cache\Factory::class],
    'cache.store' => [\Illuminate\Cache\Repository::class, \Illuminate\Contracts\Cache\Repository::class],
    'config' => [\Illuminate\Config\Repository::class, \Illuminate\Contracts\Config\Repository::class],
    'db' => [\Illuminate\Database\DatabaseManager::class, \Illuminate\Database\ConnectionResolverInterface::class],
    'db.connection' => [\Illuminate\Database\Connection::class, \Illuminate\Database\ConnectionInterface::class],
    'events' => [\Illuminate\Events\Dispatcher::class, \Illuminate\Contracts\Events\Dispatcher::class],
    'queue' => [\Illuminate\Queue\QueueManager::class, \Illuminate\Contracts\Queue\Factory::class, \Illuminate\Contracts\Queue\Monitor::class],
    'queue.connection' => [\Illuminate\Contracts\Queue\Queue::class],
    'queue.failer' => [\Illuminate\Queue\Failed\FailedJobProviderInterface::class],
    'queue.worker' => [\Illuminate\Queue\Worker::class],
    'redis' => [\Illuminate\Redis\RedisManager::class, \Illuminate\Contracts\Redis\Factory::class],
] as $key => $aliases) {
    foreach ($aliases as $alias) {
        $app->alias($key, $alias);
    }
}
$app->instance('app', $app);

foreach ($registered as $provider) {
    if (method_exists($provider, 'boot')) {
        $app->call([$provider, 'boot']);
    }
}

return $app;
