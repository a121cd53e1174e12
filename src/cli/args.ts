/** Flag parsing on node:util parseArgs, with one-line errors that name the flag and the fix. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliError } from "./cli_error.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

export function parseFlags(
  command: string,
  args: string[],
  options: Options,
  maxPositionals: number,
): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const raw = (error as Error).message;
    const ambiguous = /Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(raw);
    const message = ambiguous
      ? `${ambiguous[1]} needs a value: write ${ambiguous[1]}=VALUE`
      : raw.replace(/\. To specify a positional argument.*$/, "");
    throw new CliError(`${message} for '${command}' (see: deno task kqueue help ${command})`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new CliError(
      `Unexpected argument '${
        parsed.positionals[maxPositionals]
      }' for '${command}' (see: deno task kqueue help ${command})`,
    );
  }
  return parsed as Parsed;
}

/** A number flag: `--name=value`, checked against its range. */
export function numberFlag(
  values: Parsed["values"],
  name: string,
  { integer = false, min = 0, positive = false }: {
    integer?: boolean;
    min?: number;
    positive?: boolean;
  } = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const bad = typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n) || n < min ||
    (integer && !Number.isInteger(n)) || (positive && n <= 0);
  if (bad) {
    const kind = positive ? "a positive" : "a non-negative";
    throw new CliError(
      `--${name}=${raw} is not valid: it must be ${kind} ${integer ? "integer" : "number"}`,
    );
  }
  return n;
}

/** `--backoff=1,5,10` → [1, 5, 10]. */
export function listOfSeconds(values: Parsed["values"], name: string): number[] | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const list = String(raw).split(",").map((part) => Number(part.trim()));
  if (
    list.length === 0 || list.some((n) => !Number.isFinite(n) || n < 0) || String(raw).trim() === ""
  ) {
    throw new CliError(`--${name}=${raw} is not valid: it must be seconds, or a list like 1,5,10`);
  }
  return list;
}

/** `--queue=high,default` → ["high", "default"]. */
/** A comma-separated list of names; `example` shows what the flag takes (`high,default`). */
export function listOfNames(
  values: Parsed["values"],
  name: string,
  example = "high,default",
): string[] | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const list = String(raw).split(",").map((part) => part.trim());
  if (list.some((q) => q === "")) {
    throw new CliError(`--${name}=${raw} is not valid: use names like ${example}`);
  }
  return list;
}
