/**
 * Reads a YAML document field by field the way Go's yaml.v2 `UnmarshalStrict` fills a struct,
 * which is how exporter-toolkit reads its web config: YAML 1.1 scalars (`yes` is a boolean), a
 * string field takes any scalar's text (`1.0` stays "1.0"), null or an empty value is the Go
 * zero value, an unknown or repeated key is an error. Each problem names the key's full path.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";

/** A value not given (absent key, `~` or empty): Go leaves the field at its zero value. */
const ABSENT = undefined;

export class GoYamlReader {
  readonly problems: string[] = [];
  readonly root: Node | undefined;
  readonly #doc: Document;

  constructor(text: string) {
    // YAML 1.1, as yaml.v2. Aliases are followed one node at a time, never expanded whole.
    this.#doc = parseDocument(text, { version: "1.1", uniqueKeys: true });
    const [error] = this.#doc.errors;
    if (error) this.problems.push(`not valid YAML: ${error.message.split("\n")[0] ?? ""}`);
    this.root = error ? ABSENT : this.#given(this.#doc.contents);
  }

  /**
   * A mapping with a fixed set of keys (a Go struct): the value node per key given. Any other
   * key is an error naming its path, as UnmarshalStrict refuses it.
   */
  struct(node: Node | undefined, path: string, keys: readonly string[]): Map<string, Node | undefined> {
    const entries = this.map(node, path);
    for (const key of entries.keys())
      if (!keys.includes(key)) this.problems.push(`${join(path, key)}: unknown key`);
    return entries;
  }

  /** A mapping with free keys (a Go map[string]...): value nodes by key text (undefined: null). */
  map(node: Node | undefined, path: string): Map<string, Node | undefined> {
    const entries = new Map<string, Node | undefined>();
    if (node === ABSENT) return entries;
    if (!isMap(node)) {
      this.problems.push(`${path || "the file"}: must be a mapping`);
      return entries;
    }
    for (const pair of node.items) {
      const key = this.#given(pair.key as Node | null);
      if (key === ABSENT || !isScalar(key)) {
        this.problems.push(`${path || "the file"}: keys must be strings`);
        continue;
      }
      entries.set(scalarSource(key), (pair.value as Node | null) ?? ABSENT);
    }
    return entries;
  }

  /** A Go string: any scalar's text; "" when absent. */
  string(node: Node | undefined, path: string): string {
    const value = this.#given(node);
    if (value === ABSENT) return "";
    if (!isScalar(value)) {
      this.problems.push(`${path}: must be a string`);
      return "";
    }
    return scalarSource(value);
  }

  /** A Go []string: undefined when absent (nil), which Go tells apart from an empty list. */
  strings(node: Node | undefined, path: string): string[] | undefined {
    const value = this.#given(node);
    if (value === ABSENT) return undefined;
    if (!isSeq(value)) {
      this.problems.push(`${path}: must be a list`);
      return [];
    }
    return value.items.map((item, index) => this.string(item as Node, `${path}[${String(index)}]`));
  }

  /** A Go bool: only a YAML boolean (`true`, `yes`, `on`...); false when given empty. */
  bool(node: Node | undefined, path: string, fallback: boolean): boolean {
    if (node === ABSENT) return fallback;
    const value = this.#given(node);
    if (value === ABSENT) return false;
    if (!isScalar(value) || typeof value.value !== "boolean") {
      this.problems.push(`${path}: must be true or false`);
      return fallback;
    }
    return value.value;
  }

  /** A Go int: a YAML integer; 0 when absent. */
  int(node: Node | undefined, path: string): number {
    const value = this.#given(node);
    if (value === ABSENT) return 0;
    if (!isScalar(value) || typeof value.value !== "number" || !Number.isSafeInteger(value.value)) {
      this.problems.push(`${path}: must be an integer`);
      return 0;
    }
    return value.value;
  }

  /**
   * A Go time.Duration in milliseconds: a string in Go's duration syntax ("1s", "1m30s"), or an
   * integer, which yaml.v2 takes as nanoseconds; 0 when absent.
   */
  durationMs(node: Node | undefined, path: string): number {
    const value = this.#given(node);
    if (value === ABSENT) return 0;
    if (isScalar(value) && typeof value.value === "number" && Number.isSafeInteger(value.value))
      return value.value / 1e6;
    const text = isScalar(value) && typeof value.value === "string" ? value.value : undefined;
    const nanoseconds = text === undefined ? undefined : parseGoDuration(text);
    if (nanoseconds === undefined) {
      this.problems.push(`${path}: must be a duration such as 500ms, 1s or 1m30s`);
      return 0;
    }
    return nanoseconds / 1e6;
  }

  /** The node an alias points at; ABSENT for a missing node or a null scalar. */
  #given(node: Node | null | undefined): Node | undefined {
    const target = node && isAlias(node) ? (node.resolve(this.#doc) as Node | undefined) : node;
    if (!target || (isScalar(target) && target.value === null)) return ABSENT;
    return target;
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A scalar as yaml.v2 hands it to a string: its text as written, not the value it resolves to. */
function scalarSource(scalar: { readonly value: unknown; readonly source?: string }): string {
  if (typeof scalar.value === "string") return scalar.value;
  return scalar.source ?? String(scalar.value);
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  "\u00b5s": 1e3,
  "\u03bcs": 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const DURATION_PART = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
const MAX_DURATION_NS = 2 ** 63 - 1;

/** Go's time.ParseDuration: nanoseconds, or undefined when Go would refuse the text. */
export function parseGoDuration(text: string): number | undefined {
  const sign = text.startsWith("-") ? -1 : 1;
  let rest = text.startsWith("-") || text.startsWith("+") ? text.slice(1) : text;
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  while (rest !== "") {
    const match = DURATION_PART.exec(rest);
    const [part, whole = "", fraction = "", unit = ""] = match ?? [];
    const scale = DURATION_UNITS[unit];
    if (!part || (whole === "" && fraction === "") || scale === undefined) return undefined;
    total += Number(whole || "0") * scale + Number(`0.${fraction || "0"}`) * scale;
    rest = rest.slice(part.length);
  }
  return total > MAX_DURATION_NS ? undefined : sign * Math.round(total);
}
