<?php
/**
 * Peer for `deno task bench`: Laravel 8.83's own Illuminate\Queue\Worker::daemon()
 * on the Redis queue (phpredis, `retry_after` 90, `block_for` null), booted
 * from the Debian copy of the framework (no composer, no artisan), in the
 * style of laravel_database_worker.php. Pushes N jobs with Queue::push (one
 * EVAL each), then times daemon('redis', 'default', sleep 0, stop-when-empty)
 * from call to return.
 *
 * Usage: php laravel_redis_worker.php <host> <port> <key prefix> <jobs> <noop|wait50>
 * Prints one JSON line: {"jobs":N,"seconds":S,"pushSeconds":P,"remaining":R,"exceptions":E}
 */

namespace {
    require_once __DIR__ . '/peer_common.php';
}

namespace {
    use Illuminate\Bus\Dispatcher as BusDispatcher;
    use Illuminate\Config\Repository as Config;
    use Illuminate\Container\Container;
    use Illuminate\Contracts\Debug\ExceptionHandler;
    use Illuminate\Events\Dispatcher as EventDispatcher;
    use Illuminate\Queue\Connectors\RedisConnector;
    use Illuminate\Queue\QueueManager;
    use Illuminate\Redis\RedisManager;
    use Illuminate\Support\Facades\Facade;
    use Illuminate\Support\Facades\Queue;


    [$script, $host, $port, $prefix, $count, $kind] = array_pad($argv, 6, null);
    $jobs = (int) $count;
    if ($host === null || $prefix === null || $jobs < 1 || !in_array($kind, ['noop', 'wait50'], true)) {
        fwrite(STDERR, "usage: php {$script} <host> <port> <key prefix> <jobs> <noop|wait50>\n");
        exit(2);
    }
    if (!extension_loaded('redis')) {
        fwrite(STDERR, "laravel peer: the phpredis extension is not loaded\n");
        exit(2);
    }

    $app = new Container();
    Container::setInstance($app);
    Facade::setFacadeApplication($app);
    $app->instance(\Illuminate\Contracts\Container\Container::class, $app);

    $events = new EventDispatcher($app);
    $app->instance('events', $events);
    $app->instance(\Illuminate\Contracts\Events\Dispatcher::class, $events);
    $app->instance('config', new Config([
        'queue' => [
            'default' => 'redis',
            'connections' => [
                // Laravel 8's config/queue.php 'redis' connection.
                'redis' => [
                    'driver' => 'redis',
                    'connection' => 'default',
                    'queue' => 'default',
                    'retry_after' => 90,
                    'block_for' => null,
                    'after_commit' => false,
                ],
            ],
        ],
    ]));

    // Laravel 8's config/database.php 'redis' section, phpredis client.
    $redis = new RedisManager($app, 'phpredis', [
        'client' => 'phpredis',
        'options' => ['prefix' => $prefix],
        'default' => ['host' => $host, 'password' => null, 'port' => (int) $port, 'database' => 0],
    ]);
    $app->instance('redis', $redis);

    $app->singleton(\Illuminate\Contracts\Bus\Dispatcher::class, fn ($app) => new BusDispatcher($app));
    $queue = new QueueManager($app);
    $queue->addConnector('redis', fn () => new RedisConnector($redis));
    $app->instance('queue', $queue);

    $jobClass = $kind === 'noop' ? \App\Jobs\Noop::class : \App\Jobs\Wait50ms::class;
    $pushStarted = hrtime(true);
    for ($i = 0; $i < $jobs; $i++) {
        Queue::push(new $jobClass());
    }
    $pushSeconds = (hrtime(true) - $pushStarted) / 1e9;

    // LLEN + ZCARD :delayed + ZCARD :reserved, as Laravel's size().
    runWorkerPeer($queue, $events, 'redis', $jobs, $pushSeconds, fn () => $queue->connection('redis')->size('default'));
}
