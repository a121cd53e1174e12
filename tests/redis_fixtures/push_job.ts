/** Pushes one job as Laravel does (list + notify) over a bare socket, then exits. Env: REDIS_PORT. */
const conn = await Deno.connect({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("REDIS_PORT")),
});
const command = (...args: string[]) =>
  `*${args.length}\r\n${
    args.map((a) => `$${new TextEncoder().encode(a).length}\r\n${a}\r\n`).join("")
  }`;
const payload = JSON.stringify({ uuid: crypto.randomUUID(), id: "pushed", job: "x", attempts: 0 });
await conn.write(
  new TextEncoder().encode(
    command("RPUSH", "queues:default", payload) + command("RPUSH", "queues:default:notify", "1"),
  ),
);
// Both answered (":1\r\n" twice) before exiting.
const buffer = new Uint8Array(64);
let answered = "";
while ((answered.match(/\r\n/g) ?? []).length < 2) {
  const n = await conn.read(buffer);
  if (n === null) throw new Error("Redis closed the connection");
  answered += new TextDecoder().decode(buffer.subarray(0, n));
}
conn.close();
