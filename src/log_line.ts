/**
 * Lines KQueue writes to stderr itself, not through the logger: a fatal CLI
 * error, a listener that threw, the lease supervisor's note while the main
 * thread is stuck (its logger cannot run then). Plain text, or with
 * `work --json` one JSON object per line in the shape of the logger's JSON
 * lines, so that stdout and stderr both parse line by line. No imports: the
 * lease supervisor's Worker loads it.
 */
export type LogFormat = "text" | "json";

let current: LogFormat = "text";

/** Set by the CLI before anything logs. */
export function setLogFormat(format: LogFormat): void {
  current = format;
}

export function logFormat(): LogFormat {
  return current;
}

/** `message` as one stderr line in `format`. */
export function stderrLine(
  level: "WARN" | "ERROR",
  message: string,
  format: LogFormat = current,
): string {
  if (format === "text") return message;
  return JSON.stringify({
    "@timestamp": new Date().toISOString(),
    level,
    message,
    logger: "kqueue",
    properties: {},
  });
}
