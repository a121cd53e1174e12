/**
 * The `--child-user` start-up probe: trusted code run once, as the child's
 * user with the children's flags, before the daemon takes jobs. stdin is
 * `{ files, modules, writes }`; stdout gets one JSON line: the files that
 * user cannot open, the job modules it cannot import (computed specifiers, as
 * the real child imports them) and the declared write paths it cannot write
 * (a file created and removed in each folder; each file opened for writing,
 * unchanged); Deno's own permission refusals are left to the job's real run,
 * which has its declared permissions.
 */
const input = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
  files: string[];
  modules: string[];
  writes: { kind: "folder" | "file"; path: string }[];
};
const unreadable: { path: string; error: string }[] = [];
for (const path of input.files) {
  try {
    Deno.openSync(path).close();
  } catch (error) {
    unreadable.push({ path, error: (error as Error).message });
  }
}
const unloadable: { url: string; error: string }[] = [];
// Only once every file opened: an import would just repeat the same refusal.
if (unreadable.length === 0) {
  for (const url of input.modules) {
    try {
      await import(url);
    } catch (error) {
      // The daemon imported it fine: what fails here is the user's access. Deno's own
      // refusals (a grant the job lacks at import) are left to the job's real run.
      const message = String((error as Error)?.message ?? error);
      if ((error as Error)?.name !== "NotCapable" && !/Requires \w+ access/.test(message)) {
        unloadable.push({ url, error: message.replace(/\s+/g, " ").slice(0, 400) });
      }
    }
  }
}
const unwritable: { path: string; error: string }[] = [];
for (const { kind, path } of input.writes) {
  try {
    if (kind === "folder") {
      Deno.removeSync(Deno.makeTempFileSync({ dir: path, prefix: ".kqueue-write-check-" }));
    } else {
      Deno.openSync(path, { write: true }).close();
    }
  } catch (error) {
    unwritable.push({ path, error: (error as Error).message });
  }
}
console.log(JSON.stringify({ unreadable, unloadable, unwritable }));
// A job module's top level may have left timers behind.
Deno.exit(0);
