<?php

/**
 * php work.php [--once] [--connection=C] [--queue=Q] [any other queue:work flag]
 *
 * Runs Laravel's real `queue:work` command (Illuminate\Queue\Console\WorkCommand)
 * through a console application: the real Worker, WorkerOptions from the flags,
 * and the command's JobFailed listener that writes failed_jobs. `--connection=C`
 * becomes the command's connection argument; `--sleep=0` is added unless given
 * (an empty `--once` run would otherwise sleep 3 s). Exit code = the command's.
 * Note: `--once` never arms the job timeout (Laravel only does in daemon mode).
 */

use Illuminate\Console\Application as Console;
use Illuminate\Queue\Console\WorkCommand;
use Symfony\Component\Console\Input\ArgvInput;
use Symfony\Component\Console\Output\ConsoleOutput;

$app = require __DIR__ . '/bootstrap.php';

$args = ['work.php', 'queue:work'];
$sleep = false;
foreach (array_slice($argv, 1) as $arg) {
    if (str_starts_with($arg, '--connection=')) {
        $args[] = substr($arg, strlen('--connection='));
        continue;
    }
    $sleep = $sleep || str_starts_with($arg, '--sleep=');
    $args[] = $arg;
}
if (!$sleep) {
    $args[] = '--sleep=0';
}

$console = new Console($app, $app['events'], 'kqueue-laravel-harness');
$console->resolve(WorkCommand::class);
exit($console->run(new ArgvInput($args), new ConsoleOutput()));
