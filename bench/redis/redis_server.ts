/**
 * The bench's own redis-server: a free port (bound with port 0, then
 * released), no persistence (`--save ""`, `--appendonly no`), its own temp
 * dir. Never the machine's 6379. Inspected with `redis-cli`, so the bench's
 * main process loads no Redis client.
 */

export class BenchRedis {
  readonly port: number;
  readonly #dir: string;
  readonly #child: Deno.ChildProcess;

  private constructor(port: number, dir: string, child: Deno.ChildProcess) {
    this.port = port;
    this.#dir = dir;
    this.#child = child;
  }

  /** Starts it and waits for "Ready to accept connections". */
  static async start(): Promise<BenchRedis> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const dir = await Deno.makeTempDir({ prefix: "kqueue-bench-redis-" });
    const child = new Deno.Command("redis-server", {
      args: [
        ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ...["--dir", dir, "--daemonize", "no", "--loglevel", "warning"],
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const server = new BenchRedis(port, dir, child);
    try {
      await server.#untilReady();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Env for a scenario process whose `openConnection({ name: "redis" })` uses this server. */
  env(prefix: string): Record<string, string> {
    return {
      QUEUE_CONNECTION: "redis",
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: String(this.port),
      REDIS_PREFIX: prefix,
      REDIS_QUEUE_RETRY_AFTER: "90",
    };
  }

  /** One `redis-cli` command; its trimmed output. */
  async cli(...args: string[]): Promise<string> {
    const output = await new Deno.Command("redis-cli", {
      args: ["-h", "127.0.0.1", "-p", String(this.port), ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`redis-cli ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
    }
    return new TextDecoder().decode(output.stdout).trim();
  }

  /** Empties every database between runs. */
  async flush(): Promise<void> {
    await this.cli("FLUSHALL");
  }

  /** The server's CPU time so far (user + sys), in seconds. */
  async cpuSeconds(): Promise<number> {
    const info = await this.cli("INFO", "cpu");
    const field = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, "m"))?.[1]);
    return field("used_cpu_user") + field("used_cpu_sys");
  }

  async version(): Promise<string> {
    const info = await this.cli("INFO", "server");
    return info.match(/^redis_version:(\S+)/m)?.[1] ?? "unknown";
  }

  /** SIGTERM, wait for the exit, remove the dir. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #untilReady(): Promise<void> {
    const reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#child.stderr.pipeTo(new WritableStream()).catch(() => {});
    // --loglevel warning still prints the ready line? Not reliably: ping instead, up to 5 s.
    (async () => {
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) return;
      }
    })();
    const deadline = performance.now() + 5000;
    for (;;) {
      try {
        if (await this.cli("PING") === "PONG") return;
      } catch {
        // Not listening yet.
      }
      if (performance.now() > deadline) {
        throw new Error(`redis-server on port ${this.port} did not answer PING within 5 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
