/** Flag parsing on node:util parseArgs, with one-line errors that name the flag and the fix. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  describeRule,
  type NumberRule,
  parseNumberSetting,
  readNumber,
  shown,
} from "../config/number_setting.ts";
import { CliError } from "./cli_error.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Seconds that may be fractional: `--timeout=2.5`. */
export const SECONDS: NumberRule = { unit: "seconds" };
/** Seconds above zero: `--lease-renew=5`. */
export const POSITIVE_SECONDS: NumberRule = { unit: "seconds", positive: true };
/** A whole count above zero: `--concurrency=50`. */
export const POSITIVE_INTEGER: NumberRule = { integer: true, positive: true };
/** A whole count, 0 allowed: `--tries=0` (unlimited). */
export const NON_NEGATIVE_INTEGER: NumberRule = { integer: true };

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

/** A number flag: `--name=value`, read strictly by `rule` (plain digits; see number_setting.ts). */
export function numberFlag(
  values: Parsed["values"],
  name: string,
  rule: NumberRule = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  try {
    return parseNumberSetting(`--${name}`, String(raw), rule);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** `--backoff=1,5,10` → [1, 5, 10]: each entry seconds in plain digits, no spaces. */
export function listOfSeconds(values: Parsed["values"], name: string): number[] | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw);
  const list = text.split(",").map((part) => readNumber(part, SECONDS));
  if (list.some((n) => n === undefined)) {
    throw new CliError(
      `--${name}=${shown(text)} is not valid: it must be seconds, or a list like 1,5,10, ` +
        `each ${describeRule(SECONDS)}`,
    );
  }
  return list as number[];
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
