/**
 * Declared paths are judged by their real target: Deno checks a path as the
 * job writes it, so a granted symlink inside the project would reach wherever
 * it points. Real symlinks in a temp project; one real child.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolvePermissions } from "../src/executor/permission_flags.ts";
import { realTargetInside } from "../src/executor/permission_paths.ts";
import { jobRequest, PROJECT_ROOT, runRecorded } from "./isolated_helpers.ts";

interface Layout {
  project: string;
  outside: string;
  cleanup(): Promise<void>;
}

/** project/{data/, linkdir → outside, linkfile → outside/secret.txt, inner → data, …}. */
async function layout(parent?: string): Promise<Layout> {
  if (parent) await Deno.mkdir(parent, { recursive: true });
  const project = await Deno.realPath(await Deno.makeTempDir({ prefix: "kq_proj_", dir: parent }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "kq_out_" }));
  await Deno.writeTextFile(join(outside, "secret.txt"), "top secret");
  await Deno.mkdir(join(project, "data"));
  await Deno.writeTextFile(join(project, "data", "ok.txt"), "fine");
  await Deno.symlink(outside, join(project, "linkdir"));
  await Deno.symlink(join(outside, "secret.txt"), join(project, "linkfile"));
  await Deno.symlink("data", join(project, "inner"));
  await Deno.symlink(join(outside, "not-yet.txt"), join(project, "dangling"));
  // A relative link deeper down that climbs out.
  await Deno.symlink(`../../${outside.split("/").pop()}`, join(project, "data", "up"));
  await Deno.symlink("loop", join(project, "loop"));
  return {
    project,
    outside,
    cleanup: async () => {
      await Deno.remove(project, { recursive: true });
      await Deno.remove(outside, { recursive: true });
    },
  };
}

function refusal(permissions: Record<string, string[]>, root: string): string {
  try {
    resolvePermissions(permissions, root, "SymlinkJob");
  } catch (error) {
    assert.ok(error instanceof TypeError);
    return error.message;
  }
  assert.fail(`${JSON.stringify(permissions)} was granted`);
}

Deno.test("symlinks: a declared folder or file that points outside the project is refused, naming the real target", async () => {
  const { project, outside, cleanup } = await layout();
  try {
    const escape = (real: string) =>
      new RegExp(
        `SymlinkJob as permissions\\.\\w+ entry "[^"]+" is, or passes through, a symlink to ${real}, outside the project: declare "${real}" as an absolute path`,
      );
    assert.match(refusal({ read: ["linkdir"] }, project), escape(outside));
    assert.match(refusal({ read: ["linkfile"] }, project), escape(`${outside}/secret.txt`));
    assert.match(
      refusal({ read: ["linkdir/secret.txt"] }, project),
      escape(`${outside}/secret.txt`),
    );
    assert.match(
      refusal({ read: ["data/up/secret.txt"] }, project),
      escape(`${outside}/secret.txt`),
    );
    // A write through a dangling link would create its target outside.
    assert.match(refusal({ write: ["dangling"] }, project), escape(`${outside}/not-yet.txt`));
    // Written absolute but inside the project: judged the same way.
    assert.match(refusal({ read: [`${project}/linkdir`] }, project), escape(outside));
    assert.match(refusal({ ffi: ["linkfile"] }, project), escape(`${outside}/secret.txt`));
    assert.match(
      refusal({ read: ["loop"] }, project),
      /could not be checked for symlinks: too many symlinks/,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("symlinks: links that stay inside the project, and absolute paths outside it, are granted as written", async () => {
  const { project, outside, cleanup } = await layout();
  try {
    const resolved = resolvePermissions(
      { read: ["inner", "inner/ok.txt", "data/new/later.txt", outside], write: ["data"] },
      project,
      "SymlinkJob",
    );
    assert.deepEqual(resolved.read, [
      `${project}/inner`,
      `${project}/inner/ok.txt`,
      `${project}/data/new/later.txt`,
      outside,
    ]);
    assert.equal(realTargetInside(`${project}/inner/ok.txt`, project), `${project}/data/ok.txt`);
    assert.equal(
      realTargetInside(`${project}/data/up/x/../secret.txt`, project),
      `${outside}/secret.txt`,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("symlinks: a real child never gets the escaping grant; the real path declared on purpose works", async () => {
  // Inside this repo (its .tmp/ is git-ignored), so the fixture job loads with the repo as project.
  const { project, outside, cleanup } = await layout(join(PROJECT_ROOT, ".tmp"));
  try {
    const viaLink = join(project, "linkdir", "secret.txt");
    Deno.env.set("KQ_PROBE_PATH", viaLink);
    await assert.rejects(
      runRecorded(jobRequest("permission_jobs.ts", "ReadPathJob", {
        permissions: { read: [join(project, "linkdir")], env: ["KQ_PROBE_PATH"] },
      })),
      /is, or passes through, a symlink to .*kq_out_/,
    );
    Deno.env.set("KQ_PROBE_PATH", join(outside, "secret.txt"));
    const onPurpose = await runRecorded(jobRequest("permission_jobs.ts", "ReadPathJob", {
      permissions: { read: [outside], env: ["KQ_PROBE_PATH"] },
    }));
    assert.deepEqual(onPurpose.outcome, { kind: "success" });
    assert.deepEqual(onPurpose.stdout, ["read 10 chars"]);
  } finally {
    await cleanup();
  }
});
