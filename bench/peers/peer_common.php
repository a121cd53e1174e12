<?php
/**
 * What both Laravel peers of `deno task bench` share: the framework's Debian
 * autoloader, the two job classes, and an exception handler that counts and
 * rethrows (a bench must not hide errors).
 */

namespace {
    // First, so that the job classes below find their traits.
    require_once '/usr/share/php/Illuminate/autoload.php';
}

namespace App\Jobs {
    use Illuminate\Bus\Queueable;
    use Illuminate\Contracts\Queue\ShouldQueue;
    use Illuminate\Foundation\Bus\Dispatchable;
    use Illuminate\Queue\InteractsWithQueue;
    use Illuminate\Queue\SerializesModels;

    /** A job that does nothing. */
    class Noop implements ShouldQueue
    {
        use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

        public function handle()
        {
        }
    }

    /** A job that waits 50 ms (the 50 ms scenario). */
    class Wait50ms implements ShouldQueue
    {
        use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

        public function handle()
        {
            usleep(50000);
        }
    }
}

namespace {
    use Illuminate\Contracts\Debug\ExceptionHandler;

    /** Counts what the worker reports, and rethrows (a bench must not hide errors). */
    final class CountingExceptionHandler implements ExceptionHandler
    {
        public int $reported = 0;

        public function report(Throwable $e)
        {
            $this->reported++;
            fwrite(STDERR, 'laravel peer: ' . get_class($e) . ': ' . $e->getMessage() . "\n");
            throw $e;
        }

        public function shouldReport(Throwable $e)
        {
            return true;
        }

        public function render($request, Throwable $e)
        {
            throw $e;
        }

        public function renderForConsole($output, Throwable $e)
        {
            throw $e;
        }
    }
    /**
     * Times Laravel's own Worker::daemon() on `$connection`/default (sleep 0,
     * stop-when-empty, tries 1) from call to return, prints the peer's JSON
     * line and exits 0 when every job ran and `$remaining()` is 0.
     */
    function runWorkerPeer($queue, $events, string $connection, int $jobs, float $pushSeconds, callable $remaining): void
    {
        $handler = new CountingExceptionHandler();
        $worker = new \Illuminate\Queue\Worker($queue, $events, $handler, fn () => false);
        $processed = 0;
        $events->listen(\Illuminate\Queue\Events\JobProcessed::class, function () use (&$processed) {
            $processed++;
        });
        // name, backoff, memory, timeout, sleep, maxTries, force, stopWhenEmpty, maxJobs, maxTime, rest
        $options = new \Illuminate\Queue\WorkerOptions('default', 0, 128, 60, 0, 1, false, true, 0, 0, 0);

        $started = hrtime(true);
        $worker->daemon($connection, 'default', $options);
        $seconds = (hrtime(true) - $started) / 1e9;

        $left = (int) $remaining();
        echo json_encode([
            'jobs' => $processed,
            'seconds' => $seconds,
            'pushSeconds' => $pushSeconds,
            'remaining' => $left,
            'exceptions' => $handler->reported,
        ]), "\n";
        exit($processed === $jobs && $left === 0 ? 0 : 1);
    }
}
