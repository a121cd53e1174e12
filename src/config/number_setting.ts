/**
 * The one reader of numbers written as text: `work`/`dispatch` flags and the
 * environment (`KQUEUE_*`, Laravel's `DB_QUEUE_RETRY_AFTER`, `REDIS_PORT`, …).
 *
 * `Number()` reads far more than a setting should mean: `0x10`, `1e3`,
 * ` 5`, `Infinity`, `5.0` as a count. Only plain decimal digits are read
 * here: `12` where a whole number is meant, `12`, `2.5` or `.5` where a
 * fraction makes sense (seconds, megabytes, a rate). Anything else is a
 * RangeError of one line naming the setting, the value and what it takes.
 */

export interface NumberRule {
  /** Whole numbers only (`4`, never `4.0`). @default false: decimals (`2.5`) too */
  readonly integer?: boolean;
  /** Zero is refused too. @default false */
  readonly positive?: boolean;
  /** The smallest value. @default 0 */
  readonly min?: number;
  /** The largest value. @default none (a whole number must still be exact: up to 2^53 - 1) */
  readonly max?: number;
  /** What the number counts, for the message (`seconds`). @default none */
  readonly unit?: string;
}

const WHOLE = /^\d+$/;
const DECIMAL = /^(?:\d+(?:\.\d+)?|\.\d+)$/;

/**
 * Reads `text`, the value of `name` (`--timeout`, `KQUEUE_LEASE`), by `rule`.
 * Throws a RangeError: `--timeout=0x10 is not valid: it must be a
 * non-negative number of seconds, in plain digits (like 0, 30 or 2.5)`.
 */
export function parseNumberSetting(name: string, text: string, rule: NumberRule = {}): number {
  const value = readNumber(text, rule);
  if (value === undefined) {
    throw new RangeError(`${name}=${shown(text)} is not valid: it must be ${describeRule(rule)}`);
  }
  return value;
}

/** The number `text` spells under `rule`, or undefined when it is not one of its plain forms. */
export function readNumber(text: string, rule: NumberRule = {}): number | undefined {
  if (typeof text !== "string" || !(rule.integer ? WHOLE : DECIMAL).test(text)) return undefined;
  const value = Number(text);
  const { min = 0, max } = rule;
  if (!Number.isFinite(value) || (rule.integer && !Number.isSafeInteger(value))) return undefined;
  if (value < min || (rule.positive && value <= 0) || (max !== undefined && value > max)) {
    return undefined;
  }
  return value;
}

/** What `rule` accepts, as the end of a sentence: `a positive integer, in plain digits (like 4)`. */
export function describeRule(rule: NumberRule): string {
  const { integer = false, positive = false, min = 0, max, unit } = rule;
  const of = unit ? ` of ${unit}` : "";
  if (max !== undefined || min > 0) {
    const range = max !== undefined ? `from ${min} to ${max}` : `of at least ${min}`;
    return `${integer ? "an integer" : "a number"}${of} ${range}, in plain digits`;
  }
  const what = `${positive ? "a positive" : "a non-negative"} ${
    integer ? "integer" : "number"
  }${of}`;
  const zero = positive ? "" : "0, ";
  const examples = integer ? `${positive ? "" : "0 or "}4` : `${zero}30 or 2.5`;
  return `${what}, in plain digits (like ${examples})`;
}

/** The value as written; quoted when it is empty or holds spaces or control characters, so they show. */
export function shown(text: string): string {
  return /^[\x21-\x7e]+$/.test(text) ? text : JSON.stringify(text);
}
