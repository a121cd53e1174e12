<?php

namespace App\Jobs;

use App\Harness\RecordsRuns;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/**
 * Throws until attempt $succeedOn; 3 tries. backoff() gives
 * [$retryDelay, 2 × $retryDelay] (payload "d,2d"), so tests pick the wait.
 */
class FlakyJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels, RecordsRuns;

    const FIELDS = ['succeedOn', 'retryDelay'];

    public $tries = 3;

    public int $succeedOn;
    public int $retryDelay;

    public function __construct(int $succeedOn = 2, int $retryDelay = 1)
    {
        $this->succeedOn = $succeedOn;
        $this->retryDelay = $retryDelay;
    }

    public function backoff()
    {
        return [$this->retryDelay, 2 * $this->retryDelay];
    }

    public function handle()
    {
        $this->recordRun();
        if ($this->attempts() < $this->succeedOn) {
            throw new \RuntimeException("flaky failure on attempt {$this->attempts()}");
        }
    }
}
