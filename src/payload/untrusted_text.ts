/**
 * Text from a payload made safe to put in a message, a log line or a
 * failed_jobs row: control characters (newlines, ANSI escapes, NUL) and lone
 * surrogates escaped, so whoever writes the queue cannot forge log lines or
 * recolour a terminal; and cut to `max` characters.
 */
export function printable(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(
    // deno-lint-ignore no-control-regex -- matching control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
