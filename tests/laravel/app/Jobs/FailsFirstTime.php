<?php

namespace App\Jobs;

use App\Harness\RecordsRuns;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/**
 * Throws on its first run ever (per uuid, on either side: the runs are in
 * RECORD_FILE), succeeds on any later one, e.g. after queue:retry. No $tries:
 * the worker's --tries (1) applies, so the first exception fails it.
 */
class FailsFirstTime implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels, RecordsRuns;

    const FIELDS = ['note'];

    public string $note;

    public function __construct(string $note = '')
    {
        $this->note = $note;
    }

    public function handle()
    {
        $this->recordRun();
        if (!$this->ranBefore()) {
            throw new \RuntimeException("first run of \"{$this->note}\" fails");
        }
    }
}
