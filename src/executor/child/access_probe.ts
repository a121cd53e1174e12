/**
 * The `--child-user` start-up probe: trusted code run once, as the child's
 * user with the children's flags, before the daemon takes jobs. stdin is
 * `{ files, modules }`; stdout gets one JSON line: the files that user cannot
 * open and the job modules it cannot import (computed specifiers, as the real
 * child imports them).
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
      unloadable.push({ url, error: (error as Error).message.split("\n")[0]! });
    }
  }
}
console.log(JSON.stringify({ unreadable, unloadable }));
// A job module's top level may have left timers behind.
Deno.exit(0);
