import { errorMessage } from "./errors.ts";

/** A value as text: strings as they are, numbers and booleans printed, anything else as JSON. */
export function scalarText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return value === undefined ? "" : JSON.stringify(value);
}

/**
 * At most `max` characters of `text`; a longer text keeps its start and says how much was
 * cut, so a hostile release record cannot make the exporter hold or publish megabytes of it.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return ownCopy(`${text.slice(0, max)}… [${String(text.length - max)} more characters not shown]`);
}

/**
 * A string of its own. V8 keeps a slice (or a concatenation) of a string as a reference to the
 * whole: 16 KiB cut from a 60 MiB description would keep the 60 MiB alive.
 */
export function ownCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/**
 * Control characters (C0 but tab, DEL, C1) and Unicode's invisible direction overrides, which
 * make a terminal move the cursor, change colours or reorder what it shows.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from a release record or a live object, safe to print on one terminal line: each
 * unprintable character (newlines too) is shown escaped, `\n`, `\x1b`, `\u202e`.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    if (char === "\n") return "\\n";
    if (char === "\r") return "\\r";
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`;
  });
}

/** Like printable, for text shown over several lines: its newlines are kept. */
export function printableLines(text: string): string {
  return text.split("\n").map(printable).join("\n");
}

/** A regex (JavaScript syntax, `u` flag) that must match a whole string, as Prometheus' relabelling regexes do; or why it does not compile. */
export function wholeMatch(pattern: string): RegExp | string {
  try {
    return new RegExp(`^(?:${pattern})$`, "u");
  } catch (error) {
    return errorMessage(error);
  }
}
