/**
 * The floor a pooled child can reach: a child that reads JSON lines from
 * stdin, hands each to a Worker (bare_worker.ts), and writes the Worker's
 * answer to stdout as one line; the same pipes and hops as KQueue's runner,
 * with no protocol, deadline, permissions or job. For pool_profile.ts.
 */
import { forEachLine } from "../../src/executor/line_reader.ts";

const worker = new Worker(new URL("./bare_worker.ts", import.meta.url), { type: "module" });
const encoder = new TextEncoder();
worker.onmessage = ({ data }: MessageEvent<string>) => {
  Deno.stdout.writeSync(encoder.encode(`${data}\n`));
};
await forEachLine(Deno.stdin.readable, (line) => worker.postMessage(line));
Deno.exit(0);
