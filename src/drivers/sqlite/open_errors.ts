/**
 * One-line errors for a queue database that can't be opened: what is wrong
 * with which file, and what to do about it. The original error is the cause.
 */
import { SqliteBusyError } from "./busy.ts";

/** SQLite primary result codes that have a specific remedy. */
const SQLITE_READONLY = 8;
const SQLITE_CORRUPT = 11;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

interface Remedy {
  readonly test: RegExp;
  readonly code: number;
  readonly problem: string;
  readonly fix: string;
}

const REMEDIES: readonly Remedy[] = [
  {
    test: /file is not a database/,
    code: SQLITE_NOTADB,
    problem: "it is not a SQLite database",
    fix: "point the queue at a SQLite file, or move this file away to let KQueue create a new one",
  },
  {
    test: /unable to open database file/,
    code: SQLITE_CANTOPEN,
    problem: "SQLite could not open it",
    fix: "check that the path names a file and that the file and its folder are " +
      "readable and writable by this user",
  },
  {
    test: /malformed|corrupt/,
    code: SQLITE_CORRUPT,
    problem: "the file is corrupt",
    fix: "restore it from a backup, or try sqlite3's .recover command on a copy",
  },
  {
    test: /readonly database|read-only/,
    code: SQLITE_READONLY,
    problem: "it is read-only",
    fix: "give this user write access to the file and its folder " +
      "(WAL mode creates '-wal' and '-shm' files beside it)",
  },
];

export function describeOpenError(path: string, error: unknown): Error {
  if (error instanceof SqliteBusyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const prefix = `Cannot open queue database '${path}' as`;
  if (error instanceof Deno.errors.NotCapable) {
    return new Error(
      `${prefix} Deno may not touch it (${message}): grant --allow-read and --allow-write ` +
        `for the file's folder`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new Error(
      `${prefix} the operating system refused access (${message}): give this user read and ` +
        `write access to the file and its folder`,
      { cause: error },
    );
  }
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  for (const remedy of REMEDIES) {
    const codeMatches = typeof errcode === "number" && (errcode & 0xff) === remedy.code;
    if (codeMatches || remedy.test.test(message)) {
      return new Error(`${prefix} ${remedy.problem} (${firstLine(message)}): ${remedy.fix}`, {
        cause: error,
      });
    }
  }
  return new Error(`${prefix} it failed: ${firstLine(message)}`, { cause: error });
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? text;
}
