/**
 * Shared by the PHP serialize tests: the captured Laravel fixtures, and a way
 * to ask the real PHP for ground truth.
 */

const FIXTURES = new URL("./fixtures/laravel/", import.meta.url);

/** Every fixture file, parsed. */
export function loadFixtures(): { file: string; data: unknown }[] {
  const out: { file: string; data: unknown }[] = [];
  for (const entry of Deno.readDirSync(FIXTURES)) {
    if (!entry.name.endsWith(".json")) continue;
    out.push({
      file: entry.name,
      data: JSON.parse(Deno.readTextFileSync(new URL(entry.name, FIXTURES))),
    });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

/** Calls `visit` on every value in the fixtures, looking inside strings that hold JSON too. */
export function walkFixtures(visit: (value: unknown, file: string) => void): void {
  const walk = (value: unknown, file: string): void => {
    visit(value, file);
    if (typeof value === "string" && value.startsWith("{")) {
      let inner: unknown;
      try {
        inner = JSON.parse(value);
      } catch {
        return; // a string that only looks like JSON
      }
      walk(inner, file);
    } else if (Array.isArray(value)) value.forEach((item) => walk(item, file));
    else if (value !== null && typeof value === "object") {
      for (const item of Object.values(value)) walk(item, file);
    }
  };
  for (const { file, data } of loadFixtures()) walk(data, file);
}

/** Every distinct PHP-serialized command in the fixtures (`O:…` strings). */
export function fixtureCommands(): string[] {
  const found = new Set<string>();
  walkFixtures((value) => {
    if (typeof value === "string" && value.startsWith("O:")) found.add(value);
  });
  return [...found];
}

/** A decoded payload `data` view: the raw command and PHP's own unserialized view of it. */
export interface CommandView {
  file: string;
  command: string;
  view: Record<string, unknown>;
}

export function fixtureViews(): CommandView[] {
  const views: CommandView[] = [];
  walkFixtures((value, file) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return;
    const record = value as Record<string, unknown>;
    if (typeof record.command === "string" && typeof record.command__unserialized === "object") {
      views.push({
        file,
        command: record.command,
        view: record.command__unserialized as Record<string, unknown>,
      });
    }
  });
  return views;
}

function hasPhp(): boolean {
  try {
    return new Deno.Command("php", { args: ["-v"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

const PHP_AVAILABLE = hasPhp();
const PHP_REQUIRED = Deno.env.get("KQUEUE_REQUIRE_PHP") === "1";

/** A test that needs `php`: skipped without it, unless KQUEUE_REQUIRE_PHP=1 makes it fail. */
export function phpTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: !PHP_AVAILABLE && !PHP_REQUIRED, fn });
}

/**
 * Runs PHP code with `$input` decoded from JSON on stdin; the code must
 * `return` a value, which comes back through json_encode. `prelude` holds
 * class declarations, in braced `namespace X { … }` blocks.
 */
export async function runPhp(code: string, input: unknown, prelude = ""): Promise<unknown> {
  const script = `${prelude} namespace {
    $input = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
    $result = (function ($input) { ${code} })($input);
    echo json_encode($result, JSON_THROW_ON_ERROR);
  }`;
  const child = new Deno.Command("php", {
    // Pinned settings, so a php.ini cannot change the ground truth.
    args: ["-d", "display_errors=stderr", "-d", "serialize_precision=-1", "-r", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const { success, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  if (!success) throw new Error(`php failed: ${err}`);
  return JSON.parse(new TextDecoder().decode(stdout));
}
