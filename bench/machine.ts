/** The facts printed above the table: what the numbers were measured on. */
import { DatabaseSync } from "node:sqlite";
import { commandOutput, LARAVEL_AUTOLOAD } from "./runner.ts";

export interface MachineFacts {
  readonly lines: readonly string[];
}

/** `/proc/loadavg`'s three load averages, or "unknown". */
export async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

export async function machineFacts(): Promise<MachineFacts> {
  const php = await commandOutput("php", ["-r", "echo PHP_VERSION;"]);
  const laravel = php === undefined ? undefined : await commandOutput("php", [
    "-r",
    `require '${LARAVEL_AUTOLOAD}'; echo Illuminate\\Foundation\\Application::VERSION;`,
  ]);
  const phpSqlite = php === undefined ? undefined : await commandOutput("php", [
    "-r",
    `echo (new PDO('sqlite::memory:'))->query('SELECT sqlite_version()')->fetchColumn();`,
  ]);
  const tempDir = await Deno.realPath(Deno.env.get("TMPDIR") || "/tmp");
  return {
    lines: [
      `CPU: ${navigator.hardwareConcurrency} × ${await cpuModel()}`,
      `load average (1, 5, 15 min) at start: ${await loadAverage()}`,
      `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), SQLite ${sqliteVersion()} (node:sqlite)`,
      php === undefined
        ? "PHP not installed"
        : `PHP ${php} (SQLite ${phpSqlite ?? "unknown"}), Laravel ${laravel ?? "not available"}`,
      `temp dir: ${tempDir} (${await filesystemOf(tempDir)})`,
    ],
  };
}

async function cpuModel(): Promise<string> {
  try {
    const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
    return cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

function sqliteVersion(): string {
  const db = new DatabaseSync(":memory:");
  try {
    return String((db.prepare("SELECT sqlite_version() AS v").get() as { v: unknown }).v);
  } finally {
    db.close();
  }
}

/** The filesystem type of the mount that holds `path` (longest matching mount point). */
async function filesystemOf(path: string): Promise<string> {
  try {
    let best = { mount: "", type: "unknown" };
    for (const line of (await Deno.readTextFile("/proc/mounts")).split("\n")) {
      const [, mount, type] = line.split(" ");
      if (mount === undefined || type === undefined) continue;
      const covers = path === mount || path.startsWith(mount === "/" ? "/" : `${mount}/`);
      if (covers && mount.length > best.mount.length) best = { mount, type };
    }
    return best.type;
  } catch {
    return "unknown";
  }
}
