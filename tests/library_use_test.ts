/**
 * KQueue as a library: a separate project (its own folder and deno.json)
 * imports src/mod.ts, defines its own jobs (one isolated), dispatches with
 * Job.dispatch(), and runs them both with an embedded Daemon and with the
 * KQueue CLI pointed at its jobs folder.
 */
import assert from "node:assert/strict";

const MOD = new URL("../src/mod.ts", import.meta.url).href;
const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;

const GREET = `import { KQueueJob } from "${MOD}";
export class Greet extends KQueueJob {
  who = "";
  override async handle() {
    await Deno.writeTextFile("./out/greet.txt", "hello " + this.who + "\\n", { append: true });
  }
}
export class IsolatedGreet extends KQueueJob {
  who = "";
  override isolated = true;
  override permissions = { write: ["./out"] };
  override async handle() {
    await Deno.writeTextFile("./out/isolated.txt", "hi " + this.who + " from a child\\n", { append: true });
  }
}
`;

const MAIN = `import { Daemon, discoverJobs, getConnection, closeConnections } from "${MOD}";
import { Greet, IsolatedGreet } from "./jobs/greet.ts";
await Greet.dispatch({ who: "embedded" });
await IsolatedGreet.dispatch({ who: "embedded" });
const connection = await getConnection();
const registry = await discoverJobs("./jobs");
const daemon = new Daemon({ driver: connection.driver, registry, stopWhenDrained: true, sleep: 1 });
let done = 0;
daemon.events.on("job:done", () => done++);
daemon.events.on("job:failed", ({ error }) => console.error("failed:", error.message));
const result = await daemon.run();
await closeConnections();
console.log(JSON.stringify({ done, reason: result.reason }));
`;

Deno.test("library: another project imports src/mod.ts and runs its own jobs folder (embedded and via the CLI)", async () => {
  const project = await Deno.makeTempDir({ prefix: "kqueue-app-" });
  try {
    await Deno.mkdir(`${project}/jobs`);
    await Deno.mkdir(`${project}/out`);
    await Deno.mkdir(`${project}/database`);
    await Deno.writeTextFile(`${project}/deno.json`, JSON.stringify({ tasks: {} }));
    await Deno.writeTextFile(`${project}/jobs/greet.ts`, GREET);
    await Deno.writeTextFile(`${project}/main.ts`, MAIN);
    const env = { NO_COLOR: "1", DB_DATABASE: `${project}/database/queue.sqlite` };

    const embedded = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: project,
      env,
    }).output();
    const stderr = new TextDecoder().decode(embedded.stderr);
    assert.equal(embedded.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(embedded.stdout).trim()), {
      done: 2,
      reason: "drained",
    });
    assert.equal(await Deno.readTextFile(`${project}/out/greet.txt`), "hello embedded\n");
    assert.equal(
      await Deno.readTextFile(`${project}/out/isolated.txt`),
      "hi embedded from a child\n",
    );

    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), { args: ["run", "-A", CLI, ...args], cwd: project, env })
        .output();
    assert.equal(
      (await run(["dispatch", "IsolatedGreet", '{"who":"cli"}', "--jobs", "./jobs"])).code,
      0,
    );
    const worked = await run(["work", "--jobs", "./jobs", "--stop-when-drained", "--sleep=1"]);
    assert.equal(worked.code, 0, new TextDecoder().decode(worked.stderr));
    assert.equal(
      await Deno.readTextFile(`${project}/out/isolated.txt`),
      "hi embedded from a child\nhi cli from a child\n",
    );
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});
