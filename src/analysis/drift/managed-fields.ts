/**
 * Who changed a field, from the live object's managedFields. A fieldsV1 tree names
 * struct fields and map keys as `f:<name>`, keyed list items as `k:<json key>`, set
 * items as `v:<json>`, list indexes as `i:<n>`; `{}` is an owned leaf, and an atomic
 * list or map is owned as one leaf.
 */
import { isObject } from "../../util/object.ts";
import type { FieldPath, PathSegment } from "./path.ts";

export interface ManagedFieldsEntry {
  readonly manager: string;
  readonly operation: string;
  readonly apiVersion?: string;
  readonly subresource?: string;
  readonly time?: string;
  readonly fieldsV1?: unknown;
}

export function managedFieldsOf(object: Readonly<Record<string, unknown>>): ManagedFieldsEntry[] {
  const metadata = object.metadata;
  if (!isObject(metadata) || !Array.isArray(metadata.managedFields)) return [];
  return metadata.managedFields.filter(
    (entry): entry is ManagedFieldsEntry =>
      isObject(entry) && typeof entry.manager === "string" && typeof entry.operation === "string",
  );
}

/** Entries that own the path, a leaf above it (atomic ownership), or anything below it. */
export function ownersOf(entries: readonly ManagedFieldsEntry[], path: FieldPath): ManagedFieldsEntry[] {
  return entries.filter((entry) => owns(entry.fieldsV1, path));
}

function owns(tree: unknown, path: FieldPath): boolean {
  let node = tree;
  for (const segment of path) {
    if (!isObject(node)) return false;
    if (Object.keys(node).length === 0) return true; // an owned leaf above the path: atomic
    const child = childFor(node, segment);
    if (child === undefined) return false;
    node = child;
  }
  return isObject(node);
}

function childFor(node: Record<string, unknown>, segment: PathSegment): unknown {
  if ("field" in segment) return node[`f:${segment.field}`];
  if ("index" in segment) return node[`i:${String(segment.index)}`];
  for (const [name, child] of Object.entries(node)) {
    if (!name.startsWith("k:")) continue;
    const key = parseKey(name.slice(2));
    // managedFields keys carry every key field, with defaults filled in; ours may be a subset.
    if (key && Object.entries(segment.key).every(([field, value]) => String(key[field]) === String(value)))
      return child;
  }
  return undefined;
}

/** The path segment a fieldsV1 child names; undefined for `.` (the node itself) and set items. */
export function segmentOf(name: string): PathSegment | undefined {
  if (name.startsWith("f:")) return { field: name.slice(2) };
  if (name.startsWith("i:")) return { index: Number(name.slice(2)) };
  if (!name.startsWith("k:")) return undefined;
  const key = parseKey(name.slice(2));
  if (!key) return undefined;
  const fields = Object.entries(key).filter(
    (entry): entry is [string, string | number] =>
      typeof entry[1] === "string" || typeof entry[1] === "number",
  );
  return { key: Object.fromEntries(fields) };
}

function parseKey(json: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(json);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
