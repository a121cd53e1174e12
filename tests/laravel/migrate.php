<?php

/**
 * php migrate.php — creates `jobs`, `failed_jobs` and `cache` (+ `cache_locks`)
 * in DB_DATABASE by running the framework's own migration stubs
 * (`queue:table`, `queue:failed-table`, `cache:table`), as a Laravel 8 app's
 * `php artisan migrate` would.
 */

$app = require __DIR__ . '/bootstrap.php';

$stubs = [
    ['Queue/Console/stubs/jobs.stub', 'jobs'],
    ['Queue/Console/stubs/failed_jobs.stub', 'failed_jobs'],
    ['Cache/Console/stubs/cache.stub', 'cache'],
];
foreach ($stubs as [$stub, $table]) {
    $code = file_get_contents('/usr/share/php/Illuminate/' . $stub);
    $code = str_replace(
        ['{{tableClassName}}', '{{ tableClassName }}', '{{table}}', '{{ table }}'],
        [\Illuminate\Support\Str::studly($table), \Illuminate\Support\Str::studly($table), $table, $table],
        $code
    );
    $before = get_declared_classes();
    eval(preg_replace('/^<\?php/', '', $code));
    $class = array_values(array_diff(get_declared_classes(), $before))[0];
    (new $class())->up();
}
echo json_encode(['migrated' => array_column($stubs, 1)]), "\n";
