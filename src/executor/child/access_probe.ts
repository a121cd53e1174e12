/**
 * The `--child-user` start-up probe: trusted code run once, as the child's
 * user with the children's flags, before the daemon takes jobs. stdin is
 * `{ files, modules }`; stdout gets one JSON line: the files that user cannot
 * open and the job modules it cannot import (computed specifiers, as the real
 * child imports them) as that user; Deno's own permission refusals are left
 * to the job's real run, which has its declared permissions.
 */
const input = JSON.parse(await new Response(Deno.stdin.readable).text()) as {
  files: string[];
  modules: string[];
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
console.log(JSON.stringify({ unreadable, unloadable }));
// A job module's top level may have left timers behind.
Deno.exit(0);
