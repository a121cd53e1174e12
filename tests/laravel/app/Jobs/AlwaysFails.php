<?php

namespace App\Jobs;

use App\Harness\RecordsRuns;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Throws every time. */
class AlwaysFails implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels, RecordsRuns;

    const FIELDS = ['note'];

    public $tries = 1;

    public string $note;

    public function __construct(string $note = '')
    {
        $this->note = $note;
    }

    public function handle()
    {
        $this->recordRun();
        throw new \RuntimeException("always fails: {$this->note}");
    }
}
