<?php

namespace App\Jobs;

use App\Harness\RecordsRuns;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/**
 * Every retry setting. retryUntil() wins over $tries (so tries = 1 does not
 * stop it); maxExceptions = 3 fails it on the 3rd exception. It throws on
 * attempts 1..$throwUntil.
 */
class ConfiguredJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels, RecordsRuns;

    const FIELDS = ['throwUntil', 'retryFor'];

    public $tries = 1;
    public $backoff = [1, 2];
    public $timeout = 30;
    public $maxExceptions = 3;
    public $failOnTimeout = true;

    public int $throwUntil;
    public int $retryFor;

    public function __construct(int $throwUntil = 0, int $retryFor = 600)
    {
        $this->throwUntil = $throwUntil;
        $this->retryFor = $retryFor;
    }

    public function retryUntil()
    {
        return now()->addSeconds($this->retryFor);
    }

    public function handle()
    {
        $this->recordRun();
        if ($this->attempts() <= $this->throwUntil) {
            throw new \RuntimeException("ConfiguredJob throws on attempt {$this->attempts()}");
        }
    }
}
