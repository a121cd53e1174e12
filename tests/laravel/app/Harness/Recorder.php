<?php

namespace App\Harness;

/**
 * Appends one JSON line per job run to RECORD_FILE: which side ran it (php),
 * the job, `attempts()`, its ids and queue, and the property values it saw.
 * The KQueue jobs in ../../ts_jobs write the same shape with side "kqueue".
 */
class Recorder
{
    public static function ran(object $command, array $props): void
    {
        $job = $command->job;
        self::append([
            'side' => 'php',
            'job' => get_class($command),
            'attempt' => $command->attempts(),
            'jobId' => $job ? (string) $job->getJobId() : null,
            'uuid' => $job ? $job->uuid() : null,
            'queue' => $job ? $job->getQueue() : null,
            'connection' => $job ? $job->getConnectionName() : null,
            'props' => $props,
            'at' => (int) round(microtime(true) * 1000),
        ]);
    }

    /** The runs recorded so far (both sides). */
    public static function runs(): array
    {
        $file = self::file();
        if (!is_file($file)) {
            return [];
        }
        $lines = array_filter(explode("\n", file_get_contents($file)));
        return array_map(fn ($line) => json_decode($line, true), $lines);
    }

    private static function append(array $entry): void
    {
        $line = json_encode($entry, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION);
        file_put_contents(self::file(), $line . "\n", FILE_APPEND | LOCK_EX);
    }

    private static function file(): string
    {
        $file = getenv('RECORD_FILE');
        if ($file === false || $file === '') {
            throw new \RuntimeException('Set RECORD_FILE: the jobs record their runs there');
        }
        return $file;
    }
}
