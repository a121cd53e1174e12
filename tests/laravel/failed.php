<?php

/**
 * php failed.php [--table]
 *
 * What `queue:failed` lists, as a JSON array of {id, connection, queue, class,
 * failed_at}: the rows come from Illuminate\Queue\Console\ListFailedCommand's
 * own getFailedJobs() (the failer's all(), the class parsed from the payload
 * the way the command does). `--table` runs the real command and prints its table.
 */

use App\Harness\FailedJobsAsJson;
use Illuminate\Console\Application as Console;
use Illuminate\Queue\Console\ListFailedCommand;
use Symfony\Component\Console\Input\ArgvInput;
use Symfony\Component\Console\Output\ConsoleOutput;

$app = require __DIR__ . '/bootstrap.php';

$table = in_array('--table', $argv, true);
$console = new Console($app, $app['events'], 'kqueue-laravel-harness');
$console->resolve($table ? ListFailedCommand::class : FailedJobsAsJson::class);
$command = $table ? 'queue:failed' : 'queue:failed-json';
exit($console->run(new ArgvInput(['failed.php', $command]), new ConsoleOutput()));
