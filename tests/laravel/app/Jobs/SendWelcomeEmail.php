<?php

namespace App\Jobs;

use App\Harness\RecordsRuns;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** `php artisan make:job`'s shape, with a property of every PHP type. */
class SendWelcomeEmail implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels, RecordsRuns;

    const FIELDS = ['email', 'subject', 'count', 'ratio', 'vip', 'nickname', 'tags', 'profile', 'meta', 'locale', 'secret'];

    public string $email;
    public string $subject;
    public int $count;
    public float $ratio;
    public bool $vip;
    public ?string $nickname;
    public array $tags;
    public array $profile;
    public array $meta;
    protected string $locale;
    private string $secret;

    public function __construct(
        string $email = '',
        string $subject = '',
        int $count = 0,
        float $ratio = 0.0,
        bool $vip = false,
        ?string $nickname = null,
        array $tags = [],
        array $profile = [],
        array $meta = [],
        string $locale = 'en',
        string $secret = 'none'
    ) {
        $this->email = $email;
        $this->subject = $subject;
        $this->count = $count;
        $this->ratio = $ratio;
        $this->vip = $vip;
        $this->nickname = $nickname;
        $this->tags = $tags;
        $this->profile = $profile;
        $this->meta = $meta;
        $this->locale = $locale;
        $this->secret = $secret;
    }

    public function handle()
    {
        $this->recordRun();
    }
}
