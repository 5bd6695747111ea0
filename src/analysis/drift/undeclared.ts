/**
 * Hand-made additions to fields the manifest does not declare: `kubectl set env` on a
 * container without env, `kubectl set resources` where the chart sets none, a toleration
 * patched in. No upgrade or rollback reverts them (Helm 3's three-way merge only touches
 * fields a manifest declares, server-side apply only those Helm owns), so they are found
 * from managedFields: the fields a person's tool owns that the manifest does not declare.
 */
import { globMatches } from "../../util/glob.ts";
import { ownersOf, segmentOf, type ManagedFieldsEntry } from "./managed-fields.ts";
import { isObject } from "../../util/object.ts";
import { itemKey, mergeKeys } from "./merge-keys.ts";
import type { FieldPath, PathSegment } from "./path.ts";

export interface HandMadeAddition {
  readonly path: FieldPath;
  /** Only what the person's tools own there; the rest of the live value is others'. */
  readonly live: unknown;
  readonly owners: readonly ManagedFieldsEntry[];
}

/** Not the object's configuration: identity, metadata (labels and annotations are bookkeeping) and status. */
const NOT_CONFIGURATION = new Set(["apiVersion", "kind", "metadata", "status"]);
/** `kubectl rollout restart` stamps this on the pod template: a restart, not a configuration change. */
const RESTARTED_AT = "f:kubectl.kubernetes.io/restartedAt";

/**
 * A write made by a person's tool: a manager that matches one of the globs, on the object
 * itself. The scale subresource (`kubectl scale`) only ever owns spec.replicas, which is
 * compared when declared; status is never compared.
 */
export function isHandMade(
  entry: ManagedFieldsEntry,
  humanManagers: readonly string[],
  helmManagers: readonly string[],
): boolean {
  return (
    !entry.subresource &&
    !helmManagers.includes(entry.manager) &&
    humanManagers.some((glob) => globMatches(glob, entry.manager))
  );
}

/** The undeclared fields the given (hand-made) entries own, each at its topmost undeclared node. */
export function handMadeAdditions(
  secret: boolean,
  declared: Readonly<Record<string, unknown>>,
  live: Readonly<Record<string, unknown>>,
  entries: readonly ManagedFieldsEntry[],
): HandMadeAddition[] {
  const found: { path: FieldPath; live: unknown }[] = [];
  const tree = withoutRestarts(mergedTree(entries));
  for (const [name, node] of Object.entries(tree)) {
    const segment = segmentOf(name);
    if (!segment || !("field" in segment) || NOT_CONFIGURATION.has(segment.field)) continue;
    const declaredValue = declaredField(secret, declared, segment.field);
    walk(node, [segment], declaredValue, live[segment.field], found);
  }
  return found.map((addition) => ({ ...addition, owners: ownersOf(entries, addition.path) }));
}

function walk(
  node: unknown,
  path: PathSegment[],
  declared: unknown,
  live: unknown,
  found: { path: FieldPath; live: unknown }[],
): void {
  if (!isObject(node) || live === undefined || live === null) return;
  if (declared === undefined || declared === null) {
    found.push({ path, live: ownedPart(live, node) });
    return;
  }
  if (Array.isArray(declared)) {
    walkKeyedList(node, path, declared, live, found);
    return;
  }
  // A declared scalar or atomic value is compared as declared.
  if (!isObject(declared) || !isObject(live)) return;
  for (const [name, child] of Object.entries(node)) {
    const segment = segmentOf(name);
    if (segment && "field" in segment)
      walk(child, [...path, segment], declared[segment.field], live[segment.field], found);
  }
}

/**
 * Into the declared items of a keyed list. An item the manifest lacks is already reported
 * by the comparison (an added keyed item); an atomic list is compared whole.
 */
function walkKeyedList(
  node: Record<string, unknown>,
  path: PathSegment[],
  declared: readonly unknown[],
  live: unknown,
  found: { path: FieldPath; live: unknown }[],
): void {
  const last = path.at(-1);
  const keys = mergeKeys(last && "field" in last ? last.field : undefined, declared);
  if (!keys || !Array.isArray(live)) return;
  for (const [name, child] of Object.entries(node)) {
    const segment = segmentOf(name);
    if (!segment || !("key" in segment)) continue;
    const declaredItem = itemWithKey(declared, keys, segment.key);
    const declaredKey = itemKey(declaredItem, keys);
    if (!declaredKey) continue;
    walk(child, [...path, { key: declaredKey }], declaredItem, itemWithKey(live, keys, segment.key), found);
  }
}

/** The item a managedFields key names. */
function itemWithKey(
  items: readonly unknown[],
  keys: readonly string[],
  managedKey: Readonly<Record<string, string | number>>,
): unknown {
  return items.find((item) => {
    const key = itemKey(item, keys);
    return key !== undefined && covers(managedKey, key);
  });
}

/** managedFields keys carry every key field, defaults filled in; a declared key may be a subset. */
function covers(
  managedKey: Readonly<Record<string, string | number>>,
  key: Readonly<Record<string, string | number>>,
) {
  return Object.entries(key).every(([field, value]) => String(managedKey[field]) === String(value));
}

/** The apiserver merges a Secret's stringData into data: both are declared data keys. */
function declaredField(secret: boolean, declared: Readonly<Record<string, unknown>>, field: string): unknown {
  if (!secret || field !== "data") return declared[field];
  const { data, stringData } = declared;
  if (!isObject(stringData)) return data;
  return { ...(isObject(data) ? data : {}), ...stringData };
}

/** Only what a fieldsV1 node owns of a live value (a leaf owns all of it). */
function ownedPart(live: unknown, node: Record<string, unknown>): unknown {
  const children = Object.entries(node).filter(([name]) => name !== ".");
  if (children.length === 0) return live;
  if (Array.isArray(live)) {
    const items: readonly unknown[] = live;
    return children.flatMap(([name, child]) => {
      const segment = segmentOf(name);
      const item =
        segment && "key" in segment
          ? itemWithKey(items, Object.keys(segment.key), segment.key)
          : segment && "index" in segment
            ? items[segment.index]
            : undefined;
      return item === undefined || !isObject(child) ? [] : [ownedPart(item, child)];
    });
  }
  if (!isObject(live)) return live;
  const owned: Record<string, unknown> = {};
  for (const [name, child] of children) {
    const segment = segmentOf(name);
    if (!segment || !("field" in segment) || live[segment.field] === undefined) continue;
    owned[segment.field] = isObject(child) ? ownedPart(live[segment.field], child) : live[segment.field];
  }
  return owned;
}

/** One tree of everything the entries own. */
function mergedTree(entries: readonly ManagedFieldsEntry[]): Record<string, unknown> {
  const merge = (into: Record<string, unknown>, tree: unknown) => {
    if (!isObject(tree)) return into;
    for (const [name, child] of Object.entries(tree)) {
      const known = into[name];
      into[name] = merge(isObject(known) ? known : {}, child);
    }
    return into;
  };
  return entries.reduce<Record<string, unknown>>((tree, entry) => merge(tree, entry.fieldsV1), {});
}

/** The tree without `kubectl rollout restart`'s annotation, and without maps that held only it. */
function withoutRestarts(tree: Record<string, unknown>): Record<string, unknown> {
  const cleaned: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(tree)) {
    if (name === RESTARTED_AT || !isObject(child)) continue;
    const hadContent = Object.keys(child).some((key) => key !== ".");
    const rest = withoutRestarts(child);
    if (hadContent && !Object.keys(rest).some((key) => key !== ".")) continue;
    cleaned[name] = rest;
  }
  return cleaned;
}
