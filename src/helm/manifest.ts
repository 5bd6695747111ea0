/**
 * Reads a release's manifest, the YAML documents Helm applied, the way Kubernetes reads
 * them: documents split as its YAML reader splits them, scalars by go-yaml v2's rules
 * (yaml-scalars.ts). Errors never quote the manifest: it may hold Secret data.
 */
import { load, YAMLException, type LoadOptions } from "js-yaml";
import type { ManifestObject } from "./release.ts";
import { ownCopy } from "../util/text.ts";
import { KUBERNETES_YAML_SCHEMA } from "./yaml-scalars.ts";

export interface ManifestLimits {
  /**
   * Largest manifest, in JSON bytes, once YAML aliases are expanded: aliases are read as
   * shared references, and a few lines of them would otherwise expand to gigabytes.
   */
  readonly maxExpandedBytes: number;
}

export class ManifestError extends Error {}

// js-yaml's types predate maxDepth (added in 4.2).
interface LoadLimits extends LoadOptions {
  readonly maxDepth: number;
}

const LOAD_OPTIONS: LoadLimits = {
  schema: KUBERNETES_YAML_SCHEMA,
  // Duplicate keys: the last wins, as in go-yaml v2, instead of an error.
  json: true,
  // CRD schemas nest deeply; js-yaml's default of 100 is too tight for them.
  maxDepth: 1000,
};

/**
 * A line that starts with `---` ends a document, as in Kubernetes' YAML reader
 * (k8s.io/apimachinery/pkg/util/yaml), which allows only a comment after it.
 */
const SEPARATOR = /^---([^\n]*)$/gm;
const SOURCE = /^#\s*Source:\s*(\S.*?)\s*$/;

/**
 * How far one release record's manifests may expand through YAML aliases, in JSON bytes: its
 * manifest and every hook's manifest spend from the same budget, so a record with many
 * hooks cannot multiply it.
 */
export class ExpansionBudget {
  readonly maxBytes: number;
  private spent = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  spend(bytes: number): void {
    this.spent += bytes;
    if (this.spent > this.maxBytes) {
      throw new ManifestError(
        `the manifests expand through YAML aliases to more than ${String(this.maxBytes)} bytes`,
      );
    }
  }
}

/** One parsed YAML document of a manifest, measured against the budget before anything expands it. */
export interface ManifestDocument {
  readonly body: unknown;
  readonly source?: string;
}

/** The objects of a manifest on its own budget (tests, fixtures, one-off reads). */
export function parseManifest(text: string, limits: ManifestLimits): ManifestObject[] {
  const budget = new ExpansionBudget(limits.maxExpandedBytes);
  return [...manifestDocuments(text, budget)].flatMap(({ body, source }) => toManifestObjects(body, source));
}

/**
 * The documents of a manifest one at a time, so a caller can pace long work between them.
 * Throws ManifestError on invalid YAML or when the budget is spent.
 */
export function* manifestDocuments(text: string, budget: ExpansionBudget): Generator<ManifestDocument> {
  const sizes = new Map<object, number>();
  for (const { document, offset } of splitDocuments(text)) {
    let body: unknown;
    try {
      body = load(document, LOAD_OPTIONS);
    } catch (error) {
      throw new ManifestError(`manifest is not valid YAML: ${yamlError(error, lineAt(text, offset))}`);
    }
    // Text without an alias expands to itself; only a `*` can make a document larger than its text.
    budget.spend(document.includes("*") ? jsonSize(body, sizes) : document.length);
    const source = sourceOf(document);
    yield { body, ...(source && { source }) };
  }
}

/** Each document with where it starts in the text, so an error can name its line. */
function* splitDocuments(text: string): Generator<{ document: string; offset: number }> {
  let start = 0;
  for (const match of text.matchAll(SEPARATOR)) {
    const after = (match[1] ?? "").trim();
    if (after !== "" && !after.startsWith("#")) {
      throw new ManifestError(
        `manifest has content after a document separator on line ${String(lineAt(text, match.index))}, which Kubernetes' YAML reader refuses`,
      );
    }
    yield { document: text.slice(start, match.index), offset: start };
    start = match.index + match[0].length + 1;
  }
  if (start < text.length) yield { document: text.slice(start), offset: start };
}

/** The line (from 1) at an offset; only errors need it. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf("\n"); at !== -1 && at < offset; at = text.indexOf("\n", at + 1)) line++;
  return line;
}

/** The `# Source:` comment among the comments that open a document. */
function sourceOf(document: string): string | undefined {
  for (const line of document.split("\n", 8)) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (!trimmed.startsWith("#")) return undefined;
    const source = SOURCE.exec(trimmed)?.[1];
    if (source) return ownCopy(source);
  }
  return undefined;
}

/** js-yaml's reason and position, without its snippet of the source. */
function yamlError(error: unknown, firstLine: number): string {
  if (error instanceof YAMLException) {
    return `${error.reason} at line ${String(firstLine + error.mark.line)}, column ${String(error.mark.column + 1)}`;
  }
  // A stack overflow on absurd nesting, not the manifest's text.
  return error instanceof Error ? error.name : "unknown error";
}

/**
 * About how long JSON.stringify(value) would be, counting a value reached twice (an
 * alias) each time, and each distinct object once (memoized), so a bomb is measured in
 * the time its text takes to read.
 */
function jsonSize(value: unknown, sizes: Map<object, number>): number {
  if (typeof value === "string") return value.length + 2;
  if (value === null || typeof value !== "object") return 8;
  const known = sizes.get(value);
  if (known !== undefined) return known;
  let size = 2;
  if (Array.isArray(value)) for (const item of value) size += 1 + jsonSize(item, sizes);
  else for (const [key, item] of Object.entries(value)) size += key.length + 4 + jsonSize(item, sizes);
  sizes.set(value, size);
  return size;
}

/** The objects a document declares (a `kind: List` holds several), their bodies kept as JSON text. */
export function toManifestObjects(body: unknown, source?: string): ManifestObject[] {
  if (!body || typeof body !== "object" || Array.isArray(body)) return [];
  const object = body as Record<string, unknown>;
  // A `kind: List` document carries its objects in items, and Helm applies each.
  if (typeof object.kind === "string" && object.kind.endsWith("List") && Array.isArray(object.items)) {
    return object.items.flatMap((item: unknown) => toManifestObjects(item, source));
  }
  const metadata =
    object.metadata && typeof object.metadata === "object"
      ? (object.metadata as Record<string, unknown>)
      : {};
  if (
    typeof object.apiVersion !== "string" ||
    typeof object.kind !== "string" ||
    typeof metadata.name !== "string"
  ) {
    return [];
  }
  return [
    new StoredManifestObject(
      {
        apiVersion: ownCopy(object.apiVersion),
        kind: ownCopy(object.kind),
        name: ownCopy(metadata.name),
        ...(typeof metadata.namespace === "string" &&
          metadata.namespace !== "" && { namespace: ownCopy(metadata.namespace) }),
        ...(source && { source }),
      },
      JSON.stringify(object),
    ),
  ];
}

/**
 * A manifest object whose body is kept as JSON text and parsed again on each read: a
 * decoded release stays cached for as long as it is deployed, and text is a fraction of
 * the parsed tree (which would also hold slices of the whole manifest). The drift
 * analysis reads a body only when the object or its live copy changed.
 */
class StoredManifestObject implements ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly source?: string;
  readonly #text: string;

  constructor(identity: Omit<ManifestObject, "body">, text: string) {
    this.apiVersion = identity.apiVersion;
    this.kind = identity.kind;
    this.name = identity.name;
    if (identity.namespace !== undefined) this.namespace = identity.namespace;
    if (identity.source !== undefined) this.source = identity.source;
    this.#text = text;
  }

  get body(): Readonly<Record<string, unknown>> {
    return JSON.parse(this.#text) as Record<string, unknown>;
  }

  get text(): string {
    return this.#text;
  }
}

/** A manifest object's body as JSON text: as kept, without parsing it again. */
export function bodyTextOf(object: ManifestObject): string {
  return object instanceof StoredManifestObject ? object.text : JSON.stringify(object.body);
}

/** About how much memory a manifest object holds: its body's JSON text and its own fields. */
export function heldBytesOf(object: ManifestObject): number {
  return bodyTextOf(object).length + object.name.length + object.kind.length + object.apiVersion.length + 200;
}
