/**
 * What applying a rollback's target to one live object would meet (docs/rollback.md, verified
 * with real helm): fields the apiserver refuses to change, server-side apply conflicts with
 * other field managers, and, for client-side apply, the hand-made values it would silently set
 * back. Pure: the live object comes in, nothing is read.
 */
import { groupOf } from "../../model/refs.ts";
import { compareObject, type FieldDiff } from "../drift/compare.ts";
import { managedFieldsOf, ownersOf } from "../drift/managed-fields.ts";
import type { FieldPath, PathSegment } from "../drift/path.ts";
import { formatPath } from "../drift/path.ts";

export interface ObjectToApply {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** The target revision's manifest of the object. */
  readonly target: Readonly<Record<string, unknown>>;
  /** Last's manifest of it; absent when Last does not declare it (the rollback adds it). */
  readonly last?: Readonly<Record<string, unknown>>;
}

export interface ImmutableChange {
  readonly path: string;
  /** The apiserver's field error, as in `<Kind> "<name>" is invalid: <field error>`. */
  readonly reason: string;
}

export interface Conflict {
  /** In server-side apply's own notation: `.spec.replicas`, `.spec.template.spec.containers[name="web"].image`. */
  readonly path: string;
  readonly manager: string;
  /** Of the manager's managedFields entry: Update or Apply. */
  readonly operation: string;
  /** The API version the manager wrote with. */
  readonly apiVersion?: string;
  readonly subresource?: string;
}

export interface ObjectExamination {
  readonly immutable: readonly ImmutableChange[];
  /** Server-side apply only: fields the target sets that another manager holds with another value. */
  readonly conflicts: readonly Conflict[];
  /** Client-side apply only: values changed by someone other than Helm that the rollback sets back. */
  readonly reverted: readonly { readonly path: string; readonly managers: readonly string[] }[];
}

export function examineObject(
  object: ObjectToApply,
  live: Readonly<Record<string, unknown>>,
  applyMethod: "ssa" | "csa",
  helmManagers: readonly string[],
): ObjectExamination {
  // What the target declares that the live object has otherwise (normalized as the apiserver
  // stores values): what the rollback would change. Items the target does not declare are not.
  const changes = compareObject(object.target, live, { kind: object.kind }).filter(
    (diff) => diff.change !== "added" && !isOwnershipMetadata(diff.path),
  );
  const entries = managedFieldsOf(live);
  const immutable: ImmutableChange[] = [...unsetsImmutable(object, live)];
  const conflicts: Conflict[] = [];
  const reverted: { path: string; managers: string[] }[] = [];
  for (const diff of changes) {
    const reason = immutableReason(object, live, diff);
    // One error per field, as the apiserver reports them (several changes under spec.selector are one).
    if (reason !== undefined && !immutable.some((change) => change.reason === reason))
      immutable.push({ path: formatPath(diff.path), reason });
    const owners = ownersOf(entries, diff.path).filter((entry) => !helmManagers.includes(entry.manager));
    if (owners.length === 0) continue;
    if (applyMethod === "ssa")
      for (const owner of owners)
        conflicts.push({
          path: applyPath(diff.path),
          manager: owner.manager,
          operation: owner.operation,
          ...(owner.apiVersion && { apiVersion: owner.apiVersion }),
          ...(owner.subresource && { subresource: owner.subresource }),
        });
    else if (setsBack(object, diff))
      reverted.push({
        path: formatPath(diff.path),
        managers: [...new Set(owners.map((entry) => entry.manager))],
      });
  }
  return { immutable, conflicts, reverted };
}

/** Helm stamps its release annotations and label on every object it applies, whoever had them. */
function isOwnershipMetadata(path: FieldPath): boolean {
  const [first, second] = path;
  return (
    first !== undefined &&
    "field" in first &&
    first.field === "metadata" &&
    second !== undefined &&
    "field" in second &&
    (second.field === "labels" || second.field === "annotations")
  );
}

/**
 * Client-side apply sets back a built-in kind's declared field (a three-way strategic merge);
 * a custom resource gets a two-way merge of the two manifests, which changes only what differs
 * between Last and the target, and keeps a hand-made value of a field both declare alike.
 */
function setsBack(object: ObjectToApply, diff: FieldDiff): boolean {
  if (isBuiltIn(object.apiVersion) || object.last === undefined) return true;
  return compareObject(object.target, object.last, { kind: object.kind }).some((changed) =>
    samePath(changed.path, diff.path),
  );
}

/** Kinds the apiserver and client-go know (strategic merge); anything else is a custom resource. */
function isBuiltIn(apiVersion: string): boolean {
  const group = groupOf(apiVersion);
  return (
    group === "" ||
    ["apps", "batch", "autoscaling", "policy", "extensions"].includes(group) ||
    group.endsWith(".k8s.io")
  );
}

function samePath(a: FieldPath, b: FieldPath): boolean {
  return formatPath(a) === formatPath(b);
}

const SELECTOR_KINDS = new Set(["apps/Deployment", "apps/ReplicaSet", "apps/DaemonSet", "apps/StatefulSet"]);
/** StatefulSet spec fields the apiserver lets an update change (Kubernetes 1.27+ validation). */
const STATEFULSET_UPDATABLE = new Set([
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "revisionHistoryLimit",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
]);

const IMMUTABLE_SET = "Forbidden: field is immutable when `immutable` is set";

/**
 * An immutable ConfigMap or Secret the target does not declare immutable: applying the target
 * unsets the field (a three-way patch, or an apply without it), which the apiserver refuses first.
 */
function unsetsImmutable(object: ObjectToApply, live: Readonly<Record<string, unknown>>): ImmutableChange[] {
  const kind = `${groupOf(object.apiVersion)}/${object.kind}`;
  if (
    (kind !== "/ConfigMap" && kind !== "/Secret") ||
    live.immutable !== true ||
    object.target.immutable === true
  )
    return [];
  return [{ path: "immutable", reason: `immutable: ${IMMUTABLE_SET}` }];
}

/** The apiserver's error for changing this field to the target's value, if it refuses to. */
function immutableReason(
  object: ObjectToApply,
  live: Readonly<Record<string, unknown>>,
  diff: FieldDiff,
): string | undefined {
  const kind = `${groupOf(object.apiVersion)}/${object.kind}`;
  const fields = diff.path.map((segment: PathSegment) => ("field" in segment ? segment.field : "*"));
  const [first, second] = fields;
  if (first === "spec" && second === "selector" && (SELECTOR_KINDS.has(kind) || kind === "batch/Job"))
    return "spec.selector: Invalid value: ...: field is immutable";
  if (
    kind === "apps/StatefulSet" &&
    first === "spec" &&
    second !== undefined &&
    !STATEFULSET_UPDATABLE.has(second)
  )
    return "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
  if (kind === "batch/Job" && first === "spec" && second === "template")
    return "spec.template: Invalid value: ...: field is immutable";
  if (kind === "/Service" && first === "spec" && (second === "clusterIP" || second === "clusterIPs"))
    return "spec.clusterIPs[0]: Invalid value: ...: may not change once set";
  if (
    (kind === "rbac.authorization.k8s.io/RoleBinding" ||
      kind === "rbac.authorization.k8s.io/ClusterRoleBinding") &&
    first === "roleRef"
  )
    return "roleRef: Invalid value: ...: field is immutable";
  if (kind === "/PersistentVolumeClaim" && first === "spec" && !pvcUpdatable(fields, diff))
    return "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
  if (
    (kind === "/ConfigMap" || kind === "/Secret") &&
    live.immutable === true &&
    ["data", "binaryData", "stringData"].includes(first ?? "")
  )
    return `${first === "stringData" ? "data" : (first ?? "")}: ${IMMUTABLE_SET}`;
  return undefined;
}

/** A claim's storage request may grow, never shrink; the rest of its spec is fixed once bound. */
function pvcUpdatable(fields: readonly string[], diff: FieldDiff): boolean {
  if (fields[1] === "volumeAttributesClassName") return true;
  if (fields[1] !== "resources" || fields[2] !== "requests") return false;
  const [declared, live] = [quantityNumber(diff.declared), quantityNumber(diff.live)];
  return declared === undefined || live === undefined || declared >= live;
}

function quantityNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (!match) return undefined;
  const scale: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(match[1]) * (scale[match[2] ?? ""] ?? 1);
}

/** A path as server-side apply names it in a conflict: `.spec.template.spec.containers[name="web"].image`. */
export function applyPath(path: FieldPath): string {
  return path
    .map((segment) => {
      if ("field" in segment) return `.${segment.field}`;
      if ("index" in segment) return `[${String(segment.index)}]`;
      return `[${Object.entries(segment.key)
        .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
        .join(",")}]`;
    })
    .join("");
}
