/**
 * A private redis-server per test file: a free port (bound with port 0 and
 * released), its own temp dir, no persistence unless asked (AOF for the
 * restart test). Start and restart wait for the server's "Ready to accept
 * connections" line, not for time. Never touches the machine's 6379. With
 * `tls`, the port speaks TLS only (`--port 0 --tls-port <port>`).
 */
import { Redis } from "../../src/drivers/redis/ioredis.ts";

export interface RedisServerOptions {
  /** AOF with `appendfsync always`, so a restart (even after SIGKILL) keeps every acknowledged write. */
  readonly appendOnly?: boolean;
  /** More redis-server arguments (`--requirepass`, …). */
  readonly args?: readonly string[];
  /** PEM files: serve TLS only on the port, client certificates not required. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #options: RedisServerOptions;
  #child: Deno.ChildProcess | undefined;
  #clients: Redis[] = [];
  #log: string[] = [];

  private constructor(port: number, dir: string, options: RedisServerOptions) {
    this.port = port;
    this.dir = dir;
    this.#options = options;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 1;; attempt++) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const dir = await Deno.makeTempDir({ prefix: "kqueue-redis-" });
      const server = new RedisServer(port, dir, options);
      try {
        await server.#spawn();
        return server;
      } catch (error) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        // Another process (a parallel test file) took the port between the probe and the bind.
        const taken = (error as Error).message.includes("Address already in use");
        if (!taken || attempt === 5) throw error;
      }
    }
  }

  get url(): string {
    return `${this.#options.tls ? "rediss" : "redis"}://127.0.0.1:${this.port}`;
  }

  /** Env for a daemon or `openConnection` on this server. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      QUEUE_CONNECTION: "redis",
      REDIS_HOST: "127.0.0.1",
      REDIS_PORT: String(this.port),
      ...extra,
    };
  }

  /** A plain client for inspecting keys (closed by stop()). */
  client(db = 0): Redis {
    const tls = this.#options.tls
      ? { tls: { ca: Deno.readTextFileSync(this.#options.tls.caFile) } }
      : {};
    const client = new Redis({
      host: "127.0.0.1",
      port: this.port,
      db,
      lazyConnect: false,
      ...tls,
    });
    client.on("error", () => {});
    this.#clients.push(client);
    return client;
  }

  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash). */
  async kill(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
    await child.status;
  }

  /** Starts it again on the same port and dir (with AOF, the data comes back). */
  async restart(): Promise<void> {
    await this.#spawn();
  }

  /** Stops the server, closes the inspection clients, removes the dir. */
  async stop(): Promise<void> {
    for (const client of this.#clients) client.disconnect();
    this.#clients = [];
    await this.kill("SIGTERM");
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  async #spawn(): Promise<void> {
    const persistence = this.#options.appendOnly
      ? ["--appendonly", "yes", "--appendfsync", "always"]
      : ["--appendonly", "no"];
    const tls = this.#options.tls;
    const listen = tls
      ? [
        ...["--port", "0", "--tls-port", String(this.port), "--tls-auth-clients", "no"],
        ...["--tls-cert-file", tls.certFile, "--tls-key-file", tls.keyFile],
        ...["--tls-ca-cert-file", tls.caFile],
      ]
      : ["--port", String(this.port)];
    const command = new Deno.Command("redis-server", {
      args: [
        ...listen,
        "--bind",
        "127.0.0.1",
        // rediss://localhost may resolve to ::1 first (skipped where there is no IPv6).
        ...(tls ? ["-::1"] : []),
        "--save",
        "",
        ...persistence,
        "--dir",
        this.dir,
        ...(this.#options.args ?? []),
        "--daemonize",
        "no",
        "--loglevel",
        "notice",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    let child: Deno.ChildProcess;
    try {
      child = command.spawn();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error("The Redis tests need redis-server on PATH (apt-get install redis-server)");
    }
    this.#child = child;
    await this.#untilReady(child);
  }

  /** Reads the log until "Ready to accept connections"; keeps draining it afterwards. */
  async #untilReady(child: Deno.ChildProcess): Promise<void> {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    child.stderr.pipeTo(new WritableStream()).catch(() => {});
    let buffer = "";
    for (;;) {
      const { value, done } = await lines.read();
      if (done) {
        throw new Error(`redis-server on port ${this.port} exited before it was ready:\n${buffer}`);
      }
      buffer += value;
      this.#log.push(value);
      if (buffer.includes("Ready to accept connections")) break;
    }
    (async () => {
      for (;;) {
        const { done } = await lines.read().catch(() => ({ done: true }));
        if (done) return;
      }
    })();
  }
}
