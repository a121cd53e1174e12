<?php

namespace App\Harness;

/**
 * For jobs: record this run with the values of the properties named in
 * FIELDS. Runs in the job's own scope, so protected and private ones are seen.
 * A typed property that unserialize() left unset (reading it would throw) is
 * recorded as "<uninitialized>".
 */
trait RecordsRuns
{
    protected function recordRun(): void
    {
        $vars = get_object_vars($this); // omits typed properties never assigned
        $props = [];
        foreach (static::FIELDS as $field) {
            $props[$field] = array_key_exists($field, $vars) ? $vars[$field] : '<uninitialized>';
        }
        Recorder::ran($this, $props);
    }

    /** True when an earlier run of this job (same uuid, either side) is recorded. */
    protected function ranBefore(): bool
    {
        $uuid = $this->job->uuid();
        $earlier = array_filter(Recorder::runs(), fn ($run) => ($run['uuid'] ?? null) === $uuid);
        return count($earlier) > 1; // this run is recorded already
    }
}
