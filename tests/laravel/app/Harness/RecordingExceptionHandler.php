<?php

namespace App\Harness;

use Illuminate\Contracts\Debug\ExceptionHandler;
use Throwable;

/**
 * What the worker reports (runJob's `$this->exceptions->report($e)`): one JSON
 * line per exception to REPORT_FILE when set, and one line to stderr.
 */
class RecordingExceptionHandler implements ExceptionHandler
{
    public function report(Throwable $e)
    {
        $file = getenv('REPORT_FILE');
        if ($file !== false && $file !== '') {
            $line = json_encode([
                'class' => get_class($e),
                'message' => $e->getMessage(),
                'at' => (int) round(microtime(true) * 1000),
            ], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
            file_put_contents($file, $line . "\n", FILE_APPEND | LOCK_EX);
        }
        fwrite(STDERR, 'reported: ' . get_class($e) . ': ' . $e->getMessage() . "\n");
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
        $output->writeln('<error>' . get_class($e) . ': ' . $e->getMessage() . '</error>');
    }
}
