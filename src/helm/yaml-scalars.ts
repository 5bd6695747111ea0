/**
 * A YAML schema that reads plain scalars as Kubernetes does. Helm applies a manifest through
 * Kubernetes' YAML reader, sigs.k8s.io/yaml, which decodes with its fork of go-yaml v2:
 * YAML 1.1 booleans (`yes`, `on`, `y`), 1.1 octals (`0755`), `_` between digits, and
 * timestamps left as strings. js-yaml's own schemas follow YAML 1.2, so the scalars are
 * resolved here by go-yaml v2's rules (its resolve.go), nothing more.
 */
import { FAILSAFE_SCHEMA, Type, type Schema } from "js-yaml";

const BOOLEANS = new Map<string, boolean>([
  ...["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"].map(
    (text) => [text, true] as const,
  ),
  ...["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"].map(
    (text) => [text, false] as const,
  ),
]);
const NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const SPECIAL_FLOATS = new Map<string, number>([
  ...[".nan", ".NaN", ".NAN"].map((text) => [text, Number.NaN] as const),
  ...[".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"].map(
    (text) => [text, Number.POSITIVE_INFINITY] as const,
  ),
  ...["-.inf", "-.Inf", "-.INF"].map((text) => [text, Number.NEGATIVE_INFINITY] as const),
]);

/** Go's strconv.ParseInt with base 0: 0x hex, 0b binary, 0o or a leading 0 octal, else decimal. */
const GO_INTEGER = /^([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[bB]([01]+)|0[oO]?([0-7]+)|(0|[1-9][0-9]*))$/;
/** go-yaml's yamlStyleFloat, tried on what is not an integer. */
const GO_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
/** What strconv.ParseFloat accepts of a scalar that starts with a dot. */
const DOT_FLOAT = /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/;

const startsNumeric = (text: string) => /^[-+0-9]/.test(text);

/** The integer go-yaml v2 reads from a plain scalar, or undefined. */
export function goInteger(text: string): number | undefined {
  if (!startsNumeric(text)) return undefined;
  const match = GO_INTEGER.exec(text.replaceAll("_", ""));
  if (!match) return undefined;
  const [, sign, hex, binary, octal, decimal] = match;
  const value =
    hex !== undefined
      ? Number.parseInt(hex, 16)
      : binary !== undefined
        ? Number.parseInt(binary, 2)
        : octal !== undefined
          ? Number.parseInt(octal, 8)
          : Number(decimal);
  return sign === "-" ? -value : value;
}

/** The float go-yaml v2 reads from a plain scalar that is not an integer, or undefined. */
export function goFloat(text: string): number | undefined {
  const special = SPECIAL_FLOATS.get(text);
  if (special !== undefined) return special;
  if (text.startsWith(".")) return DOT_FLOAT.test(text) ? Number(text) : undefined;
  if (!startsNumeric(text)) return undefined;
  const plain = text.replaceAll("_", "");
  return GO_FLOAT.test(plain) ? Number(plain) : undefined;
}

const scalar = (tag: string, read: (text: string) => unknown) =>
  new Type(`tag:yaml.org,2002:${tag}`, {
    kind: "scalar",
    resolve: (text: string | null) => read(text ?? "") !== undefined,
    construct: (text: string | null) => read(text ?? ""),
  });

/**
 * Strings, sequences and mappings, plus go-yaml v2's null, bool, int and float and the
 * `<<` merge key. Tags it does not know (`!!binary`, `!!timestamp`, `!!set`) are errors.
 */
export const KUBERNETES_YAML_SCHEMA: Schema = FAILSAFE_SCHEMA.extend({
  implicit: [
    scalar("null", (text) => (NULLS.has(text) ? null : undefined)),
    scalar("bool", (text) => BOOLEANS.get(text)),
    scalar("int", goInteger),
    // Tried after int, so it reads only what is not an integer; an explicit `!!float 1` reads as 1.
    scalar("float", (text) => goInteger(text) ?? goFloat(text)),
    // js-yaml merges the keys of a pair whose key resolves to this tag.
    scalar("merge", (text) => (text === "<<" ? text : undefined)),
  ],
});
