<?php

/**
 * php retry.php <uuid…|all> [--queue=Q]
 *
 * Runs Laravel's real `queue:retry` (Illuminate\Queue\Console\RetryCommand):
 * for each failed row, reset `attempts` if present, refresh `retryUntil` from
 * the unserialized command, pushRaw() onto the row's connection and queue,
 * forget the row. Prints the command's own lines.
 */

use Illuminate\Console\Application as Console;
use Illuminate\Queue\Console\RetryCommand;
use Symfony\Component\Console\Input\ArgvInput;
use Symfony\Component\Console\Output\ConsoleOutput;

$app = require __DIR__ . '/bootstrap.php';

$console = new Console($app, $app['events'], 'kqueue-laravel-harness');
$console->resolve(RetryCommand::class);
exit($console->run(new ArgvInput(array_merge(['retry.php', 'queue:retry'], array_slice($argv, 1))), new ConsoleOutput()));
