/** A value as text: strings as they are, numbers and booleans printed, anything else as JSON. */
export function scalarText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return value === undefined ? "" : JSON.stringify(value);
}
