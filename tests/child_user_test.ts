/**
 * `--child-user`: isolated children run as an unprivileged uid/gid, through a
 * real daemon (which runs as root here). The daemon must be started with a
 * Deno binary that user can run: this one lives under /root (mode 700).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseChildUser } from "../src/executor/child_user.ts";
import { DaemonProcess, exitedOk, isEvent } from "./helpers/daemon_process.ts";
import { dispatchTo, tempQueue } from "./helpers/temp_project.ts";
import { ReadGranted, WhoAmI } from "./fixtures/child_user_jobs/child_user_jobs.ts";
import { PROJECT_ROOT } from "./isolated_helpers.ts";

const JOBS = new URL("./fixtures/child_user_jobs", import.meta.url).pathname;
const NOBODY = "65534:65534";
const AS_ROOT = Deno.uid() === 0;

/** A hard link (or copy) of this Deno binary in a folder every user can enter. */
async function reachableDeno(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "kq_deno_" });
  await Deno.chmod(dir, 0o755);
  const path = join(dir, "deno");
  try {
    await Deno.link(Deno.execPath(), path);
  } catch {
    await Deno.copyFile(Deno.execPath(), path);
    await Deno.chmod(path, 0o755);
  }
  return { path, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/** A folder under the repo's .tmp/child-user/ (what ReadGranted may read) that others can enter. */
async function grantedFolder(): Promise<string> {
  const parent = join(PROJECT_ROOT, ".tmp", "child-user");
  await Deno.mkdir(parent, { recursive: true });
  for (const dir of [join(PROJECT_ROOT, ".tmp"), parent]) await Deno.chmod(dir, 0o755);
  const dir = await Deno.makeTempDir({ dir: parent });
  await Deno.chmod(dir, 0o755);
  return dir;
}

/** The one-line error a refused `work --json` wrote, from its JSON log line. */
function errorLine(daemon: DaemonProcess): string {
  return JSON.parse(daemon.stderr[0]!).message;
}

function work(extra: string[]): string[] {
  return ["work", "--json", "--jobs", JOBS, "--stop-when-drained", "--sleep=1", ...extra];
}

Deno.test({
  name:
    "child user: the child runs as the configured uid/gid; the OS refuses a root-only file its read grant covers",
  ignore: !AS_ROOT,
  async fn() {
    const q = await tempQueue();
    const deno = await reachableDeno();
    const dir = await grantedFolder();
    try {
      const secret = join(dir, "secret.txt");
      await Deno.writeTextFile(secret, "root only", { mode: 0o600 });
      await Deno.chmod(secret, 0o600);
      const open = join(dir, "open.txt");
      await Deno.writeTextFile(open, "anyone");
      await Deno.chmod(open, 0o644);
      await dispatchTo(q, WhoAmI);
      await dispatchTo(q, ReadGranted, { path: open });
      await dispatchTo(q, ReadGranted, { path: secret });

      const daemon = await exitedOk(
        new DaemonProcess(work([`--child-user=${NOBODY}`]), q.env(), { deno: deno.path }),
      );
      const lines = daemon.events.filter(isEvent("job:output")).map((e) => String(e.line));
      assert.ok(
        lines.some((line) => /^uid=65534\(\w+\) gid=65534\(\w+\) groups=65534\(\w+\)$/.test(line)),
        `id as seen by the child (no supplementary groups): ${JSON.stringify(lines)}`,
      );
      assert.ok(lines.includes("read 6 chars"), "a file the user may read is read");
      assert.equal(daemon.events.filter(isEvent("job:done")).length, 2);
      const [row, ...others] = await q.connection.failed.list();
      assert.equal(others.length, 0);
      assert.match(
        row!.exception,
        /ReadGranted may not access "[^"]*secret\.txt": the operating system refused it \(the child's user lacks access/,
      );

      // Control: without --child-user the same grant reads the same file (the daemon is root).
      await dispatchTo(q, ReadGranted, { path: secret });
      const asRoot = await exitedOk(new DaemonProcess(work([]), q.env(), { deno: deno.path }));
      assert.ok(asRoot.events.some((e) => e.event === "job:output" && e.line === "read 9 chars"));
    } finally {
      await q.cleanup();
      await deno.cleanup();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "child user: a Deno binary that user cannot run is a one-line start-up error; no job is taken",
  ignore: !AS_ROOT || !Deno.execPath().startsWith("/root/"),
  async fn() {
    const q = await tempQueue();
    try {
      await dispatchTo(q, WhoAmI);
      const daemon = new DaemonProcess(work([`--child-user=${NOBODY}`]), q.env());
      const status = await daemon.finished();
      assert.equal(status.code, 2, daemon.stderr.join("\n"));
      const message = daemon.stderr.join("\n");
      assert.match(
        message,
        /--child-user=65534:65534 \(uid 65534, gid 65534\) cannot start the Deno binary \/root\/\S+ or enter the project \S+ \(Permission denied \(os error 13\)\): install Deno where that user can run it/,
      );
      assert.equal(
        (await q.connection.driver.counts("default")).ready,
        1,
        "the job is still there",
      );
    } finally {
      await q.cleanup();
    }
  },
});

Deno.test({
  name: "child user: a job file that user cannot read is a one-line start-up error naming it",
  ignore: !AS_ROOT,
  async fn() {
    const q = await tempQueue();
    const deno = await reachableDeno();
    await Deno.mkdir(join(PROJECT_ROOT, ".tmp"), { recursive: true });
    const hidden = await Deno.makeTempDir({ dir: join(PROJECT_ROOT, ".tmp"), prefix: "hidden_" });
    try {
      await Deno.chmod(hidden, 0o700);
      const src = new URL("../src/mod.ts", import.meta.url).href;
      await Deno.writeTextFile(
        join(hidden, "hidden_job.ts"),
        `import { KQueueJob } from "${src}";\nexport class HiddenJob extends KQueueJob {\n  override isolated = true;\n  override handle(): void {}\n}\n`,
      );
      const daemon = new DaemonProcess(
        ["work", "--jobs", hidden, `--child-user=${NOBODY}`],
        q.env(),
        { deno: deno.path },
      );
      assert.equal((await daemon.finished()).code, 2, daemon.stderr.join("\n"));
      assert.match(
        daemon.stderr.join("\n"),
        /--child-user=65534:65534 \(uid 65534, gid 65534\) cannot read \S+hidden_job\.ts \(Permission denied \(os error 13\)[^)]*\), which isolated children load: make the project and KQueue's src\/ readable by that user/,
      );
    } finally {
      await q.cleanup();
      await deno.cleanup();
      await Deno.remove(hidden, { recursive: true });
    }
  },
});

/**
 * A jobs folder under the repo's .tmp/child-user/ (readable by that user) with
 * one isolated job that declares `writePath` and writes `report.txt` into it.
 */
async function writerProject(name: string, writePath: (dir: string) => string) {
  const dir = await grantedFolder();
  const target = writePath(dir);
  const src = new URL("../src/mod.ts", import.meta.url).href;
  const file = join(dir, "writer_job.ts");
  await Deno.writeTextFile(
    file,
    `import { KQueueJob } from "${src}";\n` +
      `export class ${name} extends KQueueJob {\n` +
      `  override isolated = true;\n` +
      `  override permissions = { write: [${JSON.stringify(target)}] };\n` +
      `  override async handle(): Promise<void> {\n` +
      `    await Deno.writeTextFile(${JSON.stringify(join(target, "report.txt"))}, "written");\n` +
      `  }\n}\n`,
  );
  await Deno.chmod(file, 0o644);
  const Class = (await import(pathToFileURL(file).href))[name];
  return { dir, target, Class };
}

Deno.test({
  name:
    "child user: a folder a job declares for writing that the user cannot write is a one-line start-up error naming the job, the folder and the fix; after the fix the job writes there",
  ignore: !AS_ROOT,
  async fn() {
    const q = await tempQueue();
    const deno = await reachableDeno();
    const project = await writerProject("WritesReport", (dir) => join(dir, "out"));
    try {
      await Deno.mkdir(project.target, { mode: 0o755 }); // root's: others may not write
      await Deno.chmod(project.target, 0o755);
      await dispatchTo(q, project.Class);
      const args = ["--jobs", project.dir, `--child-user=${NOBODY}`];
      const refused = new DaemonProcess(work(args), q.env(), { deno: deno.path });
      assert.equal((await refused.finished()).code, 2, refused.stderr.join("\n"));
      assert.equal(refused.stderr.length, 1, refused.stderr.join("\n"));
      const out = project.target.replaceAll(".", "\\.");
      assert.match(
        errorLine(refused),
        new RegExp(
          `^kqueue: --child-user=65534:65534 \\(uid 65534, gid 65534\\) cannot write ${out}, ` +
            `which WritesReport declares in permissions\\.write \\(Permission denied \\(os error 13\\)[^)]*\\)\\: ` +
            `give that user write access, e\\.g\\. chown -R 65534:65534 ${out} \\(or chmod -R o\\+rwX ${out}\\)$`,
        ),
      );
      assert.equal((await q.connection.driver.counts("default")).ready, 1, "no job was taken");

      // The fix the line gives: the same daemon starts and the child writes as that user.
      await Deno.chown(project.target, 65534, 65534);
      const daemon = await exitedOk(new DaemonProcess(work(args), q.env(), { deno: deno.path }));
      assert.equal(daemon.events.filter(isEvent("job:done", "WritesReport")).length, 1);
      const report = join(project.target, "report.txt");
      assert.equal(await Deno.readTextFile(report), "written");
      assert.equal((await Deno.stat(report)).uid, 65534, "written by the child's user");
      const left = [];
      for await (const entry of Deno.readDir(project.target)) left.push(entry.name);
      assert.deepEqual(left, ["report.txt"], "the probe's check file is gone");
    } finally {
      await q.cleanup();
      await deno.cleanup();
      await Deno.remove(project.dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "child user: a declared write folder that does not exist yet is judged by the folder it would be made in; the fix the line gives works",
  ignore: !AS_ROOT,
  async fn() {
    const q = await tempQueue();
    const deno = await reachableDeno();
    const project = await writerProject("WritesDaily", (dir) => join(dir, "reports", "daily"));
    try {
      await dispatchTo(q, project.Class);
      const args = ["--jobs", project.dir, `--child-user=${NOBODY}`];
      const refused = new DaemonProcess(work(args), q.env(), { deno: deno.path });
      assert.equal((await refused.finished()).code, 2, refused.stderr.join("\n"));
      assert.equal(refused.stderr.length, 1, refused.stderr.join("\n"));
      const fix =
        /; create it for that user, e\.g\. (mkdir -p (\S+) && chown -R 65534:65534 (\S+))$/
          .exec(errorLine(refused));
      assert.ok(fix, refused.stderr[0]);
      assert.match(
        errorLine(refused),
        /cannot create \S+\/reports\/daily, which WritesDaily declares in permissions\.write: its folder \S+ is not writable by that user \(Permission denied/,
      );
      assert.deepEqual([fix[2], fix[3]], [project.target, project.target]);

      const ran = await new Deno.Command("sh", { args: ["-c", fix[1]!] }).output();
      assert.equal(ran.code, 0, new TextDecoder().decode(ran.stderr));
      const daemon = await exitedOk(new DaemonProcess(work(args), q.env(), { deno: deno.path }));
      assert.equal(daemon.events.filter(isEvent("job:done", "WritesDaily")).length, 1);
      assert.equal(await Deno.readTextFile(join(project.target, "report.txt")), "written");
    } finally {
      await q.cleanup();
      await deno.cleanup();
      await Deno.remove(project.dir, { recursive: true });
    }
  },
});

Deno.test("child user: uid:gid, names and name:group are parsed; root and unknown names are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const passwd = join(dir, "passwd");
    const group = join(dir, "group");
    await Deno.writeTextFile(
      passwd,
      "root:x:0:0:root:/root:/bin/sh\n# comment\nworker:x:1001:1002::/home/worker:/bin/sh\n",
    );
    await Deno.writeTextFile(group, "root:x:0:\njobs:x:2000:\n");
    const files = { passwd, group };
    const parse = (spec: string) => {
      const { uid, gid } = parseChildUser(spec, files);
      return [uid, gid];
    };
    assert.deepEqual(parse("65534:65534"), [65534, 65534]);
    assert.deepEqual(parse("worker"), [1001, 1002]);
    assert.deepEqual(parse("1001"), [1001, 1002]);
    assert.deepEqual(parse("worker:jobs"), [1001, 2000]);
    assert.deepEqual(parse("worker:77"), [1001, 77]);
    const refused: [string, RegExp][] = [
      ["root", /--child-user=root is not valid: uid 0, gid 0 is root: pick an unprivileged user/],
      ["0:0", /is root/],
      ["1001:0", /gid 0 is root/],
      ["ghost", /there is no user named ghost in \/etc\/passwd/],
      ["worker:ghosts", /there is no group named ghosts/],
      ["4242", /uid 4242 is not in \/etc\/passwd: give the group too, as 4242:<gid>/],
      ["", /use uid:gid/],
      [":5", /use uid:gid/],
      ["1:2:3", /use uid:gid/],
    ];
    for (const [spec, message] of refused) {
      assert.throws(() => parseChildUser(spec, files), message, spec);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
