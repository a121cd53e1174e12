<?php

/**
 * php dispatch.php <Job> ['<json constructor args>'] [--via=dispatch|queue]
 *                  [--connection=database|redis] [--queue=Q] [--delay=S]
 * php dispatch.php chain '[["<Job>", {<args>}], …]' [--connection=C] [--queue=Q]
 *
 * Dispatches App\Jobs\<Job> the way an app does:
 *   --via=dispatch (default): dispatch(new Job(...))->onConnection()->onQueue()->delay()
 *   --via=queue:              Queue::connection(c)->push($job, '', q), or ->later(delay, …)
 *   chain:                    Bus::chain([...])->onConnection()->onQueue()->dispatch()
 * The JSON object is passed as named constructor arguments. Prints one JSON
 * line: {"via":…, "id":… (queue only)}.
 */

use Illuminate\Support\Facades\Bus;
use Illuminate\Support\Facades\Queue;

$app = require __DIR__ . '/bootstrap.php';

$positional = [];
$options = ['via' => 'dispatch'];
foreach (array_slice($argv, 1) as $arg) {
    if (preg_match('/^--([a-z-]+)=(.*)$/s', $arg, $m)) {
        $options[$m[1]] = $m[2];
    } else {
        $positional[] = $arg;
    }
}
[$name, $json] = $positional + [null, '{}'];
if ($name === null) {
    fwrite(STDERR, "usage: php dispatch.php <Job> ['<json args>'] [--via=dispatch|queue] [--connection=C] [--queue=Q] [--delay=S]\n");
    exit(2);
}
$make = function (string $name, array $args) {
    $class = "App\\Jobs\\{$name}";
    return new $class(...$args);
};
$connection = $options['connection'] ?? null;
$queue = $options['queue'] ?? null;
$delay = isset($options['delay']) ? (int) $options['delay'] : null;

if ($name === 'chain') {
    $jobs = array_map(fn ($link) => $make($link[0], $link[1] ?? []), json_decode($json, true, 512, JSON_THROW_ON_ERROR));
    $chain = Bus::chain($jobs);
    if ($connection !== null) {
        $chain->onConnection($connection);
    }
    if ($queue !== null) {
        $chain->onQueue($queue);
    }
    $chain->dispatch();
    echo json_encode(['via' => 'chain']), "\n";
    exit(0);
}
$job = $make($name, json_decode($json, true, 512, JSON_THROW_ON_ERROR));

if ($options['via'] === 'queue') {
    $target = Queue::connection($connection);
    $id = $delay === null ? $target->push($job, '', $queue) : $target->later($delay, $job, '', $queue);
    echo json_encode(['via' => 'queue', 'id' => $id]), "\n";
} elseif ($options['via'] === 'dispatch') {
    $pending = dispatch($job);
    if ($connection !== null) {
        $pending->onConnection($connection);
    }
    if ($queue !== null) {
        $pending->onQueue($queue);
    }
    if ($delay !== null) {
        $pending->delay($delay);
    }
    unset($pending); // PendingDispatch dispatches in its destructor
    echo json_encode(['via' => 'dispatch']), "\n";
} else {
    fwrite(STDERR, "dispatch.php: unknown --via={$options['via']} (dispatch or queue)\n");
    exit(2);
}
