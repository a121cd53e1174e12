<?php
/**
 * Peer for `deno task bench`: Laravel 8.83's own Illuminate\Queue\Worker::daemon()
 * on the SQLite database queue, booted from the Debian copy of the framework
 * (no composer, no artisan). Pushes N jobs with Queue::push, then times
 * daemon('database', 'default', stop-when-empty) from start to return.
 *
 * Usage: php laravel_database_worker.php <database.sqlite> <jobs> <noop|wait50>
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
    use Illuminate\Database\Capsule\Manager as Capsule;
    use Illuminate\Database\Schema\Blueprint;
    use Illuminate\Events\Dispatcher as EventDispatcher;
    use Illuminate\Queue\Connectors\DatabaseConnector;
    use Illuminate\Queue\QueueManager;
    use Illuminate\Support\Facades\Facade;
    use Illuminate\Support\Facades\Queue;


    [$script, $path, $count, $kind] = array_pad($argv, 4, null);
    $jobs = (int) $count;
    if ($path === null || $jobs < 1 || !in_array($kind, ['noop', 'wait50'], true)) {
        fwrite(STDERR, "usage: php {$script} <database.sqlite> <jobs> <noop|wait50>\n");
        exit(2);
    }
    touch($path);

    $app = new Container();
    Container::setInstance($app);
    Facade::setFacadeApplication($app);
    $app->instance(\Illuminate\Contracts\Container\Container::class, $app);

    $events = new EventDispatcher($app);
    $app->instance('events', $events);
    $app->instance(\Illuminate\Contracts\Events\Dispatcher::class, $events);
    $app->instance('config', new Config([
        'queue' => [
            'default' => 'database',
            'connections' => [
                'database' => [
                    'driver' => 'database',
                    'table' => 'jobs',
                    'queue' => 'default',
                    'retry_after' => 90,
                    'after_commit' => false,
                ],
            ],
        ],
    ]));

    $capsule = new Capsule($app);
    $capsule->addConnection([
        'driver' => 'sqlite',
        'database' => $path,
        'prefix' => '',
        'foreign_key_constraints' => true,
    ]);
    $capsule->setEventDispatcher($events);
    $capsule->setAsGlobal();
    $db = $capsule->getDatabaseManager();
    $app->instance('db', $db);

    $app->singleton(\Illuminate\Contracts\Bus\Dispatcher::class, fn ($app) => new BusDispatcher($app));
    $queue = new QueueManager($app);
    $queue->addConnector('database', fn () => new DatabaseConnector($db));
    $app->instance('queue', $queue);

    // Laravel's jobs.stub, as `php artisan queue:table` + `migrate` would create it.
    $capsule->schema()->create('jobs', function (Blueprint $table) {
        $table->bigIncrements('id');
        $table->string('queue')->index();
        $table->longText('payload');
        $table->unsignedTinyInteger('attempts');
        $table->unsignedInteger('reserved_at')->nullable();
        $table->unsignedInteger('available_at');
        $table->unsignedInteger('created_at');
    });

    // One transaction around the pushes: each Queue::push would otherwise be its own fsync'd commit.
    $jobClass = $kind === 'noop' ? \App\Jobs\Noop::class : \App\Jobs\Wait50ms::class;
    $pushStarted = hrtime(true);
    $capsule->getConnection()->transaction(function () use ($jobs, $jobClass) {
        for ($i = 0; $i < $jobs; $i++) {
            Queue::push(new $jobClass());
        }
    });
    $pushSeconds = (hrtime(true) - $pushStarted) / 1e9;

    runWorkerPeer($queue, $events, 'database', $jobs, $pushSeconds, fn () => $capsule->table('jobs')->count());
}
