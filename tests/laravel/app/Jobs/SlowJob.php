<?php

namespace App\Jobs;

use App\Harness\RecordsRuns;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Runs $seconds, past its 1 s timeout (which queue:work --once never arms). */
class SlowJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels, RecordsRuns;

    const FIELDS = ['seconds'];

    public $tries = 1;
    public $timeout = 1;

    public int $seconds;

    public function __construct(int $seconds = 5)
    {
        $this->seconds = $seconds;
    }

    public function handle()
    {
        $this->recordRun();
        sleep($this->seconds);
    }
}
