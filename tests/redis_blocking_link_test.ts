/**
 * The blocking connection (KQueue's own RESP client, `blocking_link.ts`):
 * its reply parser at every split point, large and pipelined replies over a
 * real socket, and coming back after its connection is killed, after a
 * redis-server restart, and after a socket goes silent.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { BlockingLink } from "../src/drivers/redis/blocking_link.ts";
import { NotifyWaiter } from "../src/drivers/redis/notify_waiter.ts";
import { RedisLink } from "../src/drivers/redis/redis_link.ts";
import { RespConnection } from "../src/drivers/redis/resp_connection.ts";
import { parseReply, RespConnectionError, RespReplyError } from "../src/drivers/redis/resp_wire.ts";
import { RedisQueue } from "../src/drivers/redis/redis_queue.ts";
import {
  MemoryFailedJobs,
  openQueue,
  RedisServer,
  until,
  untilBlocked,
} from "./redis_fixtures/helpers.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** A blocking link to `server`, open. */
async function openLink(server: RedisServer): Promise<BlockingLink> {
  const endpoint = { host: "127.0.0.1", port: server.port, db: 0, tls: false };
  const link = new BlockingLink(endpoint, { name: "kqueue-blocking", connectTimeoutMs: 2000 });
  await link.open();
  return link;
}
const copy = (b: Uint8Array) => b.slice();
const parseAll = (text: string) => {
  const wire = bytes(text);
  return parseReply(wire, 0, wire.length, copy);
};

/** `promise`, or a rejection after `ms` (a bound on a test that would otherwise hang). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

Deno.test("resp parser: every prefix of a reply is incomplete, the whole is read exactly", () => {
  const text = "*6\r\n:42\r\n$5\r\nhé\r\n\r\n$-1\r\n*2\r\n+OK\r\n:-7\r\n$0\r\n\r\n*-1\r\n";
  const wire = new Uint8Array([...bytes(text), ...bytes("+NEXT\r\n")]);
  const whole = wire.length - "+NEXT\r\n".length;
  for (let end = 0; end < whole; end++) {
    assert.equal(parseReply(wire, 0, end, copy), undefined, `a prefix of ${end} bytes`);
  }
  const parsed = parseReply(wire, 0, wire.length, copy)!;
  assert.equal(parsed.end, whole);
  const [n, bulk, nil, nested, empty, nilArray] = parsed.value as unknown[];
  assert.equal(n, 42);
  assert.equal(
    new TextDecoder().decode(bulk as Uint8Array),
    "hé\r\n",
    "a bulk string may hold CRLF",
  );
  assert.equal(nil, null);
  assert.deepEqual(nested, ["OK", -7]);
  assert.equal((empty as Uint8Array).length, 0);
  assert.equal(nilArray, null);
  assert.equal(parseReply(wire, parsed.end, wire.length, copy)!.value, "NEXT");
});

Deno.test("resp parser: an error inside an array is the reply; garbage fails the connection by name", () => {
  const nested = parseAll("*2\r\n:1\r\n-ERR inner\r\n");
  assert.ok(nested!.value instanceof RespReplyError);
  assert.equal((nested!.value as Error).message, "ERR inner");
  assert.throws(
    () => parseAll("?what\r\n"),
    (e) => e instanceof RespConnectionError && /unreadable reply \(\?what\)/.test(e.message),
  );
  assert.throws(
    () => parseAll("$1x\r\n"),
    (e) => e instanceof RespConnectionError && /unreadable number \(1x\)/.test(e.message),
  );
  assert.throws(() => parseAll(":\r\n"), RespConnectionError);
  assert.equal(parseAll(":-9223372036854775807\r\n")!.value, -9223372036854775807);
});

/** Writes `text` whole, in writes of `chunkBytes` at most (each a read of its own, mostly). */
async function writeInChunks(conn: Deno.Conn, text: string, chunkBytes: number): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at, at + chunkBytes));
}

/**
 * A fake server on a real socket: answers the login, then `answer(command)`
 * (undefined: silence), in writes of `chunkBytes` at most.
 */
function fakeServer(answer: (args: string[]) => string | undefined, chunkBytes = Infinity) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections: Deno.Conn[] = [];
  const accepted: Array<() => void> = [];
  const serve = async (conn: Deno.Conn) => {
    const buffer = new Uint8Array(1 << 16);
    let text = "";
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) return;
      text += new TextDecoder().decode(buffer.subarray(0, n));
      for (;;) {
        const command = /^\*(\d+)\r\n((?:\$\d+\r\n[^\r]*\r\n)*)/.exec(text);
        const args = command ? [...command[2]!.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)] : [];
        if (!command || args.length < Number(command[1])) break;
        text = text.slice(command[0].length);
        const argv = args.map((m) => m[1]!);
        const reply = argv[0] === "CLIENT" ? "+OK\r\n" : answer(argv);
        if (reply !== undefined) await writeInChunks(conn, reply, chunkBytes).catch(() => {});
      }
    }
  };
  (async () => {
    for await (const conn of listener) {
      connections.push(conn);
      accepted.splice(0).forEach((wake) => wake());
      void serve(conn);
    }
  })().catch(() => {});
  return {
    endpoint: { host: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port, db: 0, tls: false },
    connections,
    /** Resolves once `count` connections were accepted. */
    async accepted(count: number): Promise<void> {
      while (connections.length < count) await new Promise<void>((r) => accepted.push(r));
    },
    close() {
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch {
          // Closed by the client.
        }
      }
    },
  };
}

Deno.test("resp connection: a 1 MiB bulk reply over many reads, then the next pipelined reply", async () => {
  const big = "x".repeat(1 << 20);
  const server = fakeServer((args) =>
    args[0] === "GET"
      ? `$${big.length}\r\n${big}\r\n`
      : args[0] === "PING"
      ? "+PONG\r\n"
      : "-ERR no\r\n"
  );
  const connection = await RespConnection.open(server.endpoint, "test", 5000);
  try {
    const [value, pong, refused] = await Promise.allSettled([
      connection.command(["GET", "k"]),
      connection.command(["PING"]),
      connection.command(["NOPE"]),
    ]);
    assert.equal(value.status === "fulfilled" && (value.value as Uint8Array).length, big.length);
    assert.equal(pong.status === "fulfilled" && pong.value, "PONG");
    assert.ok(refused.status === "rejected" && refused.reason instanceof RespReplyError);
    assert.equal(
      await connection.command(["PING"]),
      "PONG",
      "still usable after a refused command",
    );
  } finally {
    connection.close();
    server.close();
  }
});

Deno.test("resp connection: a reply arriving over many reads is parsed once, and the read buffer shrinks back after it", async () => {
  const items = 2048;
  const item = "y".repeat(1000);
  const server = fakeServer(
    (args) =>
      args[0] === "LRANGE"
        ? `*${items}\r\n${`$${item.length}\r\n${item}\r\n`.repeat(items)}`
        : "$4\r\npong\r\n",
    4096,
  );
  let made = 0;
  let readBufferBytes = 0;
  const connection = await RespConnection.open(server.endpoint, "test", 5000, {
    bulk: (bytes) => {
      made++;
      readBufferBytes = bytes.buffer.byteLength;
      return bytes.slice();
    },
  });
  try {
    const reply = await connection.command(["LRANGE", "k", "0", "-1"]) as Uint8Array[];
    assert.equal(reply.length, items);
    assert.ok(reply.every((b) => b.length === item.length && b[0] === 121));
    assert.equal(made, items, "each bulk string made once, not again at each read");
    assert.ok(readBufferBytes > 2_000_000, "the read buffer grew to hold the 2 MB reply");
    const pong = await connection.command(["GET", "small"]) as Uint8Array;
    assert.equal(new TextDecoder().decode(pong), "pong");
    assert.equal(readBufferBytes, 64 * 1024, "and is back to its first size once it was read");
  } finally {
    connection.close();
    server.close();
  }
});

Deno.test("resp connection: a command larger than the socket takes in one write is sent whole, and the one behind it", async () => {
  const server = await RedisServer.start();
  const connection = await RespConnection.open(
    { host: "127.0.0.1", port: server.port, db: 0, tls: false },
    "test",
    5000,
  );
  try {
    const big = new Uint8Array(16 << 20).fill(120);
    const replies = within(
      Promise.all([
        connection.command(["SET", "big", big]),
        connection.command(["STRLEN", "big"]),
      ]),
      5000,
      "the answers to a 16 MiB SET and the STRLEN behind it",
    );
    assert.deepEqual(await replies, ["OK", big.length]);
  } finally {
    connection.close();
    await server.stop();
  }
});

Deno.test("blocking link: a killed connection fails its BLPOP at once, reconnects and blocks again", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue } = await openQueue(server);
  try {
    const blockingId = async () => {
      const list = await raw.client("LIST") as string;
      const line = list.split("\n").find((l) =>
        / name=kqueue-blocking /.test(l) && / cmd=blpop /.test(l)
      );
      return line ? /id=(\d+)/.exec(line)![1] : undefined;
    };
    const first = queue.waitForJobs(["default"], 30_000);
    const id = await until(blockingId, (v) => v !== undefined, "a kqueue-blocking client in BLPOP");
    await raw.client("KILL", "ID", id!);
    await first; // ended by the failed BLPOP, not by its 30 s
    await until(() => queue.stats.blockingReconnects, (n) => n === 1, "the blocking link back");
    const second = queue.waitForJobs(["default"], 30_000);
    const again = await until(blockingId, (v) => v !== undefined, "a BLPOP on the new connection");
    assert.notEqual(again, id);
    await raw.rpush("queues:default", JSON.stringify({ uuid: "u", job: "x", attempts: 0 }));
    await raw.rpush("queues:default:notify", "1");
    await second;
    const [job] = await queue.reserve(["default"], 1);
    assert.equal(job?.attempts, 1, "the wake-up reserved the job on the new connection");
    await queue.ack(job!);
  } finally {
    await queue.close();
    await server.stop();
  }
});

Deno.test("blocking link: while redis-server is down its commands fail at once; it comes back with it", async () => {
  const server = await RedisServer.start();
  const link = await openLink(server);
  try {
    const blocked = assert.rejects(link.blpop(["nothing"], "30"), RespConnectionError);
    await server.kill("SIGTERM");
    await blocked;
    assert.equal(link.ready, false);
    const started = performance.now();
    await assert.rejects(link.blpop(["nothing"], "30"), /the blocking Redis connection is down/);
    assert.ok(performance.now() - started < 50, "no wait while down");
    await server.restart();
    await until(() => link.ready, (ready) => ready, "the link back after the restart");
    assert.equal(link.reconnects, 1);
    assert.deepEqual(await link.blpop(["nothing"], "0.01"), null);
  } finally {
    link.close();
    await server.stop();
  }
});

Deno.test("blocking link: a BLPOP unanswered past its timeout (a silent socket) is dropped and the link reconnects", async () => {
  const silent = fakeServer(() => undefined);
  const redis = await RedisServer.start();
  const commands = new RedisLink(
    { host: "127.0.0.1", port: redis.port, db: 0, tls: false },
    { name: "kqueue", maxRetriesPerRequest: 1 },
  );
  const blocking = new BlockingLink(silent.endpoint, {
    name: "kqueue-blocking",
    connectTimeoutMs: 2000,
  });
  try {
    await commands.open(2000);
    await blocking.open();
    const waiter = new NotifyWaiter({
      blocking,
      commands,
      wakeKey: "wake",
      sliceMs: 100,
      fractionalTimeouts: () => true,
      clock: Date.now,
      dueAt: () => undefined,
      prefetch: (queues) => blocking.callBuffer("EVALSHA", ["sha", 0, ...queues]).then(() => false),
    });
    const started = performance.now();
    await waiter.wait(["default"], ["queues:default:notify"], 10_000);
    const elapsed = performance.now() - started;
    // The slice (100 ms) + the server timeout's lead (250 ms) + the guard's margin (1 s), and
    // the guard's second look a margin later (the next slice waited on the same silent socket).
    assert.ok(
      elapsed >= 2300 && elapsed < 5000,
      `gave up on the silent socket after ${elapsed} ms`,
    );
    await silent.accepted(2);
    await until(() => blocking.reconnects, (n) => n === 1, "a new connection");
    waiter.close();
  } finally {
    blocking.close();
    commands.close();
    silent.close();
    await redis.stop();
  }
});

Deno.test("blocking link: bulk replies are Buffers, as ioredis' callBuffer gives them", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const link = await openLink(server);
  try {
    await raw.rpush("k", "héllo");
    const reply = await link.blpop(["k"], "1") as [Buffer, Buffer];
    assert.ok(Buffer.isBuffer(reply[1]));
    assert.equal(reply[1].toString("utf8"), "héllo");
  } finally {
    link.close();
    await server.stop();
  }
});

Deno.test("blocking link: an answer that waits unread behind a blocked event loop is not taken for a stuck socket", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const { queue } = await openQueue(server, { blockSliceMs: 100 });
  try {
    assert.deepEqual(await queue.reserve(["default"], 1), [], "(the reserve script is loaded)");
    const waiting = queue.waitForJobs(["default"], 30_000);
    await untilBlocked(raw, 1);
    // A long synchronous job: the event loop is blocked while another process pushes a job
    // (the BLPOP returns, the reserve behind it takes the job) and past the slice's guard.
    const blockedAt = performance.now();
    const push = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./redis_fixtures/push_job.ts", import.meta.url).pathname],
      env: { REDIS_PORT: String(server.port) },
    }).outputSync();
    assert.equal(push.code, 0, new TextDecoder().decode(push.stderr));
    // The guard: the slice (100 ms) + the server timeout's lead (250 ms) + its margin (1 s).
    while (performance.now() - blockedAt < 2000) {
      // Still blocked.
    }
    await waiting;
    const jobs = await queue.reserve(["default"], 1);
    assert.equal(jobs.length, 1, "the job the reserve took is handed out, not left reserved");
    assert.equal(jobs[0]!.attempts, 1);
    await queue.ack(jobs[0]!);
    assert.equal(queue.stats.blockingReconnects, 0, "the healthy connection was kept");
  } finally {
    await queue.close();
    await server.stop();
  }
});

/** A server that accepts and answers the login (CLIENT SETNAME) of its first `answered` connections only. */
function loginServer(answered: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Array<Promise<void>> = [];
  const onAccept: Array<() => void> = [];
  (async () => {
    for await (const conn of listener) {
      const index = accepted.length;
      // Resolves when the client closes this connection.
      accepted.push((async () => {
        const buffer = new Uint8Array(1024);
        for (;;) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) break;
          if (index < answered) await conn.write(new TextEncoder().encode("+OK\r\n"));
        }
        conn.close();
      })());
      onAccept.splice(0).forEach((wake) => wake());
    }
  })().catch(() => {});
  return {
    endpoint: { host: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port, db: 0, tls: false },
    /** The `index`th connection (from 0), once accepted; `closed`: when the client closed it. */
    async connection(index: number): Promise<{ closed: Promise<void> }> {
      while (accepted.length <= index) await new Promise<void>((r) => onAccept.push(r));
      return { closed: accepted[index]! };
    },
    close: () => listener.close(),
  };
}

Deno.test("blocking link: opening a queue on a server that accepts but never answers fails within the connect timeout", async () => {
  const silent = loginServer(0);
  try {
    const started = performance.now();
    await within(
      assert.rejects(
        RedisQueue.open({
          endpoint: silent.endpoint,
          failedJobLogger: new MemoryFailedJobs(),
          connectTimeoutMs: 300,
        }),
        /^StoreUnreachableError: Cannot reach Redis at 127\.0\.0\.1:\d+ \(ETIMEDOUT\)/,
      ),
      3000,
      "the open failing",
    );
    assert.ok(performance.now() - started < 1000);
  } finally {
    silent.close();
  }
});

Deno.test("blocking link: close() while a reconnect waits for its login ends that connection at once", async () => {
  const server = loginServer(1);
  const link = new BlockingLink(server.endpoint, {
    name: "kqueue-blocking",
    connectTimeoutMs: 60_000,
  });
  try {
    await link.open();
    link.reset();
    const reconnecting = await server.connection(1); // its login is never answered
    link.close();
    await within(reconnecting.closed, 1000, "the reconnecting socket closed by close()");
    assert.equal(link.ready, false);
    assert.equal(link.reconnects, 0);
  } finally {
    link.close();
    server.close();
  }
});

Deno.test("blocking link: a command written behind an unanswered BLPOP reaches Redis at once (no Nagle delay)", async () => {
  const server = await RedisServer.start();
  const raw = server.client();
  const link = await openLink(server);
  try {
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const blocked = link.blpop(["k"], "5");
      await until(() => raw.info("clients"), (info) => /blocked_clients:1/.test(info), "the BLPOP");
      const sentAt = performance.now();
      const behind = link.callBuffer("PING", []);
      // Redis holds the PING in the blocked client's query buffer: it has arrived.
      await until(
        () => raw.client("LIST") as Promise<string>,
        (list) => / name=kqueue-blocking .*qbuf=[1-9]/.test(list),
        "the PING in the blocked client's query buffer",
        2000,
      );
      delays.push(performance.now() - sentAt);
      await raw.rpush("k", "x");
      await Promise.all([blocked, behind]);
    }
    delays.sort((a, b) => a - b);
    // With Nagle's algorithm on, it waits for the BLPOP's delayed ACK: ~40 ms on Linux.
    assert.ok(delays[2]! < 20, `the PING arrived after ${delays.map((d) => d.toFixed(1))} ms`);
  } finally {
    link.close();
    await server.stop();
  }
});
