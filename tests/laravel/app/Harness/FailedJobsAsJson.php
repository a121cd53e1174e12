<?php

namespace App\Harness;

use Illuminate\Queue\Console\ListFailedCommand;

/** `queue:failed`'s rows, as JSON instead of a table. */
class FailedJobsAsJson extends ListFailedCommand
{
    protected $name = 'queue:failed-json';

    public function handle()
    {
        $keys = ['id', 'connection', 'queue', 'class', 'failed_at'];
        $rows = array_map(fn ($row) => array_combine($keys, array_values($row)), array_values($this->getFailedJobs()));
        $this->line(json_encode($rows, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
    }
}
