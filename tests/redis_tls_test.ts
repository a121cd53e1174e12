/**
 * `REDIS_URL=rediss://…`: KQueue over TLS to a private redis-server that
 * speaks TLS only (`--port 0 --tls-port`), with a throwaway CA and server
 * certificate made by `openssl`. The CLI runs under Deno, whose TLS trusts
 * `DENO_CERT`, `NODE_EXTRA_CA_CERTS` (npm code such as ioredis), or, with
 * `DENO_TLS_CA_STORE=system`, the system store (`SSL_CERT_FILE`, as phpredis):
 * the certificate is verified, never skipped. Skipped only when this
 * redis-server was built without TLS.
 */
import assert from "node:assert/strict";
import { DaemonProcess, FIXTURE_JOBS, isEvent } from "./helpers/daemon_process.ts";
import { laravelTest, runPhp, TS_JOBS } from "./laravel/harness.ts";
import { readRuns } from "./laravel/ts_jobs/_record.ts";
import { RedisServer } from "./redis_fixtures/redis_server.ts";

const P = "laravel_database_";

interface Certificates {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Runs `openssl` in `dir` with the words of `command` (no word has a space in it). */
async function openssl(dir: string, command: string): Promise<void> {
  const args = command.split(" ");
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${command} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA and a server certificate (P-256) for 127.0.0.1 and localhost, valid for a day. */
async function makeCertificates(): Promise<Certificates> {
  const dir = await Deno.makeTempDir({ prefix: "kqueue-tls-" });
  const key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  await openssl(
    dir,
    `req -x509 ${key} -keyout ca.key -out ca.crt -days 1 -subj /CN=KQueue-test-CA`,
  );
  await openssl(dir, `req -new ${key} -keyout server.key -out server.csr -subj /CN=localhost`);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(
    dir,
    "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 " +
      "-extfile server.ext -out server.crt",
  );
  return {
    dir,
    caFile: `${dir}/ca.crt`,
    certFile: `${dir}/server.crt`,
    keyFile: `${dir}/server.key`,
  };
}

/** Why TLS cannot be tested here (redis-server built without it), or undefined. */
async function tlsUnsupported(): Promise<string | undefined> {
  const certs = await makeCertificates();
  try {
    await (await RedisServer.start({ tls: certs })).stop();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A build without TLS refuses the tls-* directives; anything else fails the tests below.
    if (/exited before it was ready/.test(message) && /tls/i.test(message)) {
      return `this redis-server has no TLS built in: ${message.split("\n").slice(1).join(" ")}`;
    }
    return undefined;
  } finally {
    await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
  }
}

const UNSUPPORTED = await tlsUnsupported();
if (UNSUPPORTED) console.warn(`Skipping the Redis TLS tests: ${UNSUPPORTED}`);

function tlsTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: UNSUPPORTED !== undefined, fn });
}

async function withTlsRedis(
  body: (server: RedisServer, certs: Certificates, dir: string) => Promise<void>,
): Promise<void> {
  const certs = await makeCertificates();
  const server = await RedisServer.start({ tls: certs });
  const dir = await Deno.makeTempDir({ prefix: "kqueue-tls-work-" });
  try {
    await body(server, certs, dir);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.remove(certs.dir, { recursive: true }).catch(() => {});
  }
}

/** The CLI's env on the TLS server: REDIS_URL only (no REDIS_HOST/PORT). */
function kqueueEnv(url: string, dir: string, trust: Record<string, string>) {
  return {
    QUEUE_CONNECTION: "redis",
    REDIS_URL: url,
    DB_DATABASE: `${dir}/database.sqlite`,
    RECORD_FILE: `${dir}/runs.jsonl`,
    ...trust,
  };
}

async function cli(args: string[], env: Record<string, string>): Promise<DaemonProcess> {
  const child = new DaemonProcess(args, env);
  const status = await child.finished(30_000);
  assert.equal(status.code, 0, child.stderr.join("\n"));
  return child;
}

tlsTest(
  "rediss://: `kqueue dispatch` pushes over TLS and a KQueue daemon runs it (CA from NODE_EXTRA_CA_CERTS, DENO_CERT)",
  async () => {
    await withTlsRedis(async (server, certs, dir) => {
      const file = `${dir}/ran.txt`;
      // A host name (SNI + name check) for the dispatch, the IP address for the daemon.
      await cli(
        ["dispatch", "CountProbe", JSON.stringify({ file, n: 7 }), "--jobs", FIXTURE_JOBS],
        kqueueEnv(`rediss://localhost:${server.port}`, dir, { NODE_EXTRA_CA_CERTS: certs.caFile }),
      );
      const raw = server.client();
      const [payload] = (await raw.lrange(`${P}queues:default`, 0, -1)).map((p) => JSON.parse(p));
      assert.equal(payload?.displayName, "CountProbe", "the job is in Redis, pushed over TLS");

      const daemon = await cli(
        ["work", "--json", "--jobs", FIXTURE_JOBS, "--stop-when-drained", "--sleep=1"],
        kqueueEnv(server.url, dir, { DENO_CERT: certs.caFile }),
      );
      assert.deepEqual(
        daemon.events.filter(isEvent("job:done")).map((e) => e.job!.uuid),
        [payload.uuid],
      );
      assert.equal((await Deno.readTextFile(file)).trim(), "7");
      assert.ok(
        daemon.stderr.some((line) => /redis: 127\.0\.0\.1:\d+ db 0 tls,/.test(line)),
        daemon.stderr.join("\n"),
      );
      assert.deepEqual(await raw.keys("*"), []);
    });
  },
);

tlsTest(
  "rediss://: a daemon that does not trust the server's CA refuses the connection (exit 2)",
  async () => {
    await withTlsRedis(async (server, _certs, dir) => {
      const daemon = new DaemonProcess(
        ["work", "--json", "--jobs", FIXTURE_JOBS, "--stop-when-drained"],
        kqueueEnv(server.url, dir, {}),
      );
      const status = await daemon.finished(30_000);
      assert.equal(status.code, 2);
      const said = daemon.stderr.join("\n");
      // Names the server, the TLS verdict and the fix; it is not an outage.
      assert.match(said, new RegExp(`127\\.0\\.0\\.1:${server.port}\\b`));
      assert.match(
        said,
        /presented a TLS certificate this process does not accept \(SELF_SIGNED_CERT_IN_CHAIN\): give its CA in NODE_EXTRA_CA_CERTS or DENO_CERT/,
      );
      assert.doesNotMatch(said, /is redis-server running/);
      assert.deepEqual(await server.client().keys("*"), [], "nothing was written");
    });
  },
);

// Laravel's ConfigurationUrlParser turns rediss:// into phpredis' tls:// host; phpredis verifies
// against OpenSSL's default CA file, which SSL_CERT_FILE names. Deno reads that file too, but
// only with DENO_TLS_CA_STORE=system (its default store is its own bundled roots).
const LARAVEL_TLS = "rediss:// with Laravel: phpredis dispatches over TLS, KQueue runs it; " +
  "KQueue dispatches, Laravel runs it (one SSL_CERT_FILE for both)";
if (UNSUPPORTED) Deno.test({ name: LARAVEL_TLS, ignore: true, fn: () => {} });
else {
  laravelTest(LARAVEL_TLS, async () => {
    await withTlsRedis(async (server, certs, dir) => {
      const env = {
        ...kqueueEnv(server.url, dir, { SSL_CERT_FILE: certs.caFile }),
        DB_CONNECTION: "sqlite",
        REPORT_FILE: `${dir}/reports.jsonl`,
      };
      const kqueue = { ...env, DENO_TLS_CA_STORE: "system" };
      const php = async (script: string, ...args: string[]) => {
        const out = await runPhp(script, args, env);
        assert.equal(out.code, 0, out.stdout + out.stderr);
        return out.stdout;
      };
      await Deno.writeTextFile(env.DB_DATABASE, "");
      await php("migrate.php");
      await php("dispatch.php", "SendWelcomeEmail", JSON.stringify({ email: "tls@php.test" }));
      const daemon = await cli(
        ["work", "--json", "--jobs", TS_JOBS, "--stop-when-drained", "--sleep=1"],
        kqueue,
      );
      assert.equal(daemon.events.filter(isEvent("job:done")).length, 1);

      const job = ["App\\Jobs\\SendWelcomeEmail", '{"email":"tls@kqueue.test"}'];
      await cli(["dispatch", ...job, "--jobs", TS_JOBS], kqueue);
      assert.match(await php("work.php", "--once"), /Processed:\s+App\\Jobs\\SendWelcomeEmail/);
      const runs = await readRuns(env.RECORD_FILE);
      assert.deepEqual(runs.map((run) => [run.side, run.props.email, run.connection]), [
        ["kqueue", "tls@php.test", "redis"],
        ["php", "tls@kqueue.test", "redis"],
      ]);
      assert.deepEqual(await server.client().keys("*"), []);
    });
  });
}
