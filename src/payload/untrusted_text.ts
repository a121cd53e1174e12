/**
 * Text from a payload made safe to put in a message, a log line or a
 * failed_jobs row: control characters (newlines, ANSI escapes, NUL) and lone
 * surrogates escaped, so whoever writes the queue cannot forge log lines or
 * recolour a terminal; and cut to `max` characters.
 */
export function printable(text: string, max = 200): string {
  if (text.length <= max && isPlainAscii(text)) return text; // the usual case, without the regex
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(
    // deno-lint-ignore no-control-regex -- matching control characters is the point
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Only printable ASCII (space to `~`): nothing for printable() to escape. */
function isPlainAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
