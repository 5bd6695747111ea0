/**
 * Declared-vs-live comparison of one object. Only what the manifest declares is
 * compared: server defaults and controllers' additions are not drift. Values are
 * normalized the way the apiserver stores them, so a fresh install shows no drift.
 */
import { scalarText } from "../../util/text.ts";
import { controllerOwnsField } from "./controller-owned.ts";
import { parseQuantity, quantitiesEqual, quantityPrecisionAt, type QuantityPrecision } from "./quantity.ts";
import {
  MANAGED_BY_LABEL,
  RELEASE_NAME_ANNOTATION,
  RELEASE_NAMESPACE_ANNOTATION,
} from "../../helm/vocabulary.ts";
import { LAST_APPLIED_ANNOTATION, SECRET_KIND } from "../../model/kubernetes.ts";
import { isObject } from "../../util/object.ts";
import { itemKey, mergeKeys, sameKey } from "./merge-keys.ts";
import type { FieldPath, PathSegment } from "./path.ts";

export interface FieldDiff {
  readonly path: FieldPath;
  /** undefined when the live object has an item the manifest does not declare. */
  readonly declared: unknown;
  /** undefined when the live object lacks what the manifest declares. */
  readonly live: unknown;
  readonly change: "changed" | "removed" | "added";
  /** Secret data: values must never be shown. */
  readonly sensitive: boolean;
}

const IGNORED_TOP_LEVEL = new Set(["apiVersion", "kind", "status"]);
const IGNORED_METADATA = new Set([
  "name",
  "namespace",
  "managedFields",
  "resourceVersion",
  "uid",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "selfLink",
  "ownerReferences",
]);
const IGNORED_LABELS = new Set([MANAGED_BY_LABEL]);
const IGNORED_ANNOTATIONS = new Set([
  RELEASE_NAME_ANNOTATION,
  RELEASE_NAMESPACE_ANNOTATION,
  "deployment.kubernetes.io/revision",
  LAST_APPLIED_ANNOTATION,
]);

export interface CompareContext {
  readonly kind: string;
}

export function compareObject(
  declared: Readonly<Record<string, unknown>>,
  live: Readonly<Record<string, unknown>>,
  context: CompareContext,
): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  const isSecret = isSecretObject(context.kind, live);
  const body = isSecret ? secretWithStringDataMerged(declared) : declared;
  for (const [field, value] of Object.entries(body)) {
    if (IGNORED_TOP_LEVEL.has(field) || controllerOwnsField(context.kind, body, field)) continue;
    const path = [{ field }];
    if (field === "metadata" && isObject(value)) compareMetadata(value, live.metadata, diffs);
    else if (isSecret && field === "data" && isObject(value)) compareSecretData(value, live.data, diffs);
    else compareValue(value, live[field], path, diffs);
  }
  return isSecret ? diffs.map(redactSecretDiff) : diffs;
}

/** The live object's kind decides too, not only the manifest's: a release record is anyone's input. */
export function isSecretObject(declaredKind: string, live: Readonly<Record<string, unknown>>): boolean {
  return declaredKind === SECRET_KIND || live.kind === SECRET_KIND;
}

/**
 * A Secret's diff shows values only where they cannot hold Secret material: its type, its
 * immutability, and single labels and annotations other than kubectl's last-applied copy
 * (which holds the whole Secret). Anything else, whatever shape the manifest gave it (a
 * string where a map belongs would otherwise be compared with, and show, the live map), is
 * redacted on both sides: the declared values come from the release, and are as secret.
 */
export function redactSecretDiff(diff: FieldDiff): FieldDiff {
  if (showsSecretValue(diff)) return diff;
  return {
    ...diff,
    declared: diff.declared === undefined ? undefined : REDACTED,
    live: diff.live === undefined ? undefined : REDACTED,
    sensitive: true,
  };
}

function showsSecretValue(diff: FieldDiff): boolean {
  const scalar = (value: unknown) => typeof value !== "object"; // null is an object here too
  if (!scalar(diff.declared) || !scalar(diff.live)) return false;
  const fields = diff.path.map((segment) => ("field" in segment ? segment.field : undefined));
  const [first, second, third] = fields;
  if (fields.length === 1) return first === "type" || first === "immutable";
  return (
    fields.length === 3 &&
    first === "metadata" &&
    (second === "labels" || (second === "annotations" && third !== LAST_APPLIED_ANNOTATION))
  );
}

function compareMetadata(declared: Record<string, unknown>, live: unknown, diffs: FieldDiff[]): void {
  const liveMetadata = isObject(live) ? live : {};
  for (const [field, value] of Object.entries(declared)) {
    if (IGNORED_METADATA.has(field)) continue;
    const path: PathSegment[] = [{ field: "metadata" }, { field }];
    const skip =
      field === "labels" ? IGNORED_LABELS : field === "annotations" ? IGNORED_ANNOTATIONS : undefined;
    if (skip && isObject(value)) {
      const liveMap = liveMetadata[field];
      for (const [key, entry] of Object.entries(value)) {
        if (!skip.has(key))
          compareValue(entry, isObject(liveMap) ? liveMap[key] : undefined, [...path, { field: key }], diffs);
      }
    } else {
      compareValue(value, liveMetadata[field], path, diffs);
    }
  }
}

/** Secret data compared by decoded bytes; the diff carries no values. */
function compareSecretData(declared: Record<string, unknown>, live: unknown, diffs: FieldDiff[]): void {
  const liveData = isObject(live) ? live : {};
  for (const [key, value] of Object.entries(declared)) {
    if (value === null || value === undefined) continue;
    const liveValue = liveData[key];
    const path = [{ field: "data" }, { field: key }];
    if (typeof liveValue !== "string") {
      diffs.push({ path, declared: REDACTED, live: undefined, change: "removed", sensitive: true });
    } else if (!Buffer.from(scalarText(value), "base64").equals(Buffer.from(liveValue, "base64"))) {
      diffs.push({ path, declared: REDACTED, live: REDACTED, change: "changed", sensitive: true });
    }
  }
}

export const REDACTED = "(redacted)";

function secretWithStringDataMerged(declared: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { stringData, ...rest } = declared;
  if (!isObject(stringData)) return rest;
  const data: Record<string, unknown> = { ...(isObject(rest.data) ? rest.data : {}) };
  // The apiserver merges stringData into data (stringData wins) and never returns it.
  for (const [key, value] of Object.entries(stringData)) {
    if (value !== null && value !== undefined) data[key] = Buffer.from(scalarText(value)).toString("base64");
  }
  return { ...rest, data };
}

function compareValue(declared: unknown, live: unknown, path: PathSegment[], diffs: FieldDiff[]): void {
  if (declared === null || declared === undefined) return; // null in a manifest means "not set"
  if (live === undefined || live === null) {
    // Go's omitempty drops "", 0, false, {} and [] from what the apiserver returns.
    if (!isEmpty(declared))
      diffs.push({ path, declared, live: undefined, change: "removed", sensitive: false });
    return;
  }
  if (isObject(declared)) {
    if (!isObject(live)) {
      diffs.push({ path, declared, live, change: "changed", sensitive: false });
      return;
    }
    for (const [field, value] of Object.entries(declared))
      compareValue(value, live[field], [...path, { field }], diffs);
    return;
  }
  if (Array.isArray(declared)) {
    compareList(declared, live, path, diffs);
    return;
  }
  if (!scalarsEqual(declared, live, quantityPrecisionAt(path)))
    diffs.push({ path, declared, live, change: "changed", sensitive: false });
}

function compareList(
  declared: readonly unknown[],
  live: unknown,
  path: PathSegment[],
  diffs: FieldDiff[],
): void {
  if (!Array.isArray(live)) {
    diffs.push({ path, declared, live, change: "changed", sensitive: false });
    return;
  }
  const last = path.at(-1);
  const keys = mergeKeys(last && "field" in last ? last.field : undefined, declared);
  if (keys) {
    compareKeyedList(declared, live, keys, path, diffs);
    return;
  }
  // Atomic list: same length and order; each item compared like any declared value, so
  // defaults inside items (a NetworkPolicy port's protocol) are not drift.
  const scalars = declared.every((item) => !isObject(item) && !Array.isArray(item));
  if (
    declared.length !== live.length ||
    (scalars && !declared.every((item, index) => scalarsEqual(item, live[index], undefined)))
  ) {
    diffs.push({ path, declared, live, change: "changed", sensitive: false });
    return;
  }
  if (!scalars)
    declared.forEach((item, index) => {
      compareValue(item, live[index], [...path, { index }], diffs);
    });
}

function compareKeyedList(
  declared: readonly unknown[],
  live: readonly unknown[],
  keys: readonly string[],
  path: PathSegment[],
  diffs: FieldDiff[],
): void {
  const liveItems = live.map((item) => ({ item, key: itemKey(item, keys) }));
  const declaredKeys: Record<string, string | number>[] = [];
  for (const item of declared) {
    const key = itemKey(item, keys);
    if (!key) continue;
    declaredKeys.push(key);
    const match = liveItems.find((candidate) => candidate.key && sameKey(candidate.key, key));
    compareValue(item, match?.item, [...path, { key }], diffs);
  }
  for (const { item, key } of liveItems) {
    if (key && !declaredKeys.some((declaredKey) => sameKey(declaredKey, key))) {
      diffs.push({
        path: [...path, { key }],
        declared: undefined,
        live: item,
        change: "added",
        sensitive: false,
      });
    }
  }
}

/** Equal as the apiserver would store them: quantities by value, "8080" and 8080 alike. */
export function scalarsEqual(
  declared: unknown,
  live: unknown,
  quantity: QuantityPrecision | undefined,
): boolean {
  if (declared === live) return true;
  if (quantity) {
    const [a, b] = [parseQuantity(declared, quantity), parseQuantity(live, quantity)];
    if (a && b) return quantitiesEqual(a, b);
  }
  const loose = (value: unknown) =>
    typeof value === "number" || typeof value === "boolean" ? String(value) : value;
  return typeof declared !== typeof live && loose(declared) === loose(live);
}

function isEmpty(value: unknown): boolean {
  if (value === "" || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return (
    isObject(value) &&
    Object.values(value).every((entry) => entry === null || entry === undefined || isEmpty(entry))
  );
}
