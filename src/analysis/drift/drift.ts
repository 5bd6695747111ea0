/**
 * Drift of one release: every object of the manifest Helm believes is live, against the
 * live cluster. Pure: the live objects come in as lookups, so every rule is unit-tested.
 */
import type { ManifestObject } from "../../helm/release.ts";
import {
  MANAGED_BY_LABEL,
  RELEASE_NAME_ANNOTATION,
  RELEASE_NAMESPACE_ANNOTATION,
} from "../../helm/vocabulary.ts";
import { groupOf, resourceRef, scaleTargetKey, type ResourceRef } from "../../model/refs.ts";
import { compareObject, isSecretObject, redactSecretDiff, type FieldDiff } from "./compare.ts";
import type { OutcomeMemo } from "./outcome-memo.ts";
import {
  annotationIgnores,
  IGNORE_REASONS,
  ignoresWholeObject,
  ruleIgnoresField,
  ruleMatchesObject,
  type IgnoreReason,
  type IgnoreRule,
  type ObjectIdentity,
} from "./ignore.ts";
import { managedFieldsOf, ownersOf, type ManagedFieldsEntry } from "./managed-fields.ts";
import { isObject } from "../../util/object.ts";
import { formatPath, pointerMatches } from "./path.ts";
import { handMadeAdditions, isHandMade } from "./undeclared.ts";

/**
 * Why an object could not be compared: the exporter may not read its kind, the API does not
 * serve it, the read failed, or it lies in a namespace outside --namespaces/--exclude-namespaces
 * (a release in scope never widens what the exporter reads).
 */
export type UncheckedReason = "forbidden" | "not_served" | "error" | "out_of_scope";
export const UNCHECKED_REASONS: readonly UncheckedReason[] = [
  "forbidden",
  "not_served",
  "error",
  "out_of_scope",
];

export type LiveLookup =
  | {
      readonly state: "found";
      readonly object: Readonly<Record<string, unknown>>;
      /** Changes whenever the object does (uid/resourceVersion): what a memo of its drift is keyed on. */
      readonly version?: string;
    }
  /** Found at this version, and its outcome already known (OutcomeMemo): its copy was not kept. */
  | { readonly state: "known"; readonly version: string }
  | { readonly state: "missing" }
  | { readonly state: "unchecked"; readonly reason: UncheckedReason; readonly message: string };

export interface DriftOptions {
  /** Managers that are Helm itself: their fields are the release's, never drift's authors. */
  readonly helmManagers: readonly string[];
  /** Managers whose changes are meant to happen (a CA injector writing caBundle). */
  readonly ignoreManagers: readonly string[];
  readonly ignoreHpaReplicas: boolean;
  readonly rules: readonly IgnoreRule[];
  /**
   * Globs of managers that are a person's tools: undeclared fields they own are hand-made
   * additions (drift `added`); undeclared fields anyone else owns are controllers' business.
   */
  readonly humanManagers: readonly string[];
}

export const DEFAULT_DRIFT_OPTIONS: DriftOptions = {
  helmManagers: ["helm", "helm-controller"],
  ignoreManagers: [],
  ignoreHpaReplicas: true,
  rules: [],
  humanManagers: ["kubectl", "kubectl-*"],
};

export interface Manager {
  readonly manager: string;
  readonly operation: string;
  readonly subresource?: string;
  readonly time?: Date;
}

export interface FieldDrift {
  readonly path: string;
  readonly change: FieldDiff["change"];
  readonly declared: unknown;
  readonly live: unknown;
  readonly sensitive: boolean;
  /** Managers other than Helm that own the field now; empty when nobody does (e.g. removed). */
  readonly managers: readonly string[];
}

export interface ResourceDrift {
  readonly resource: ResourceRef;
  /** `added`: nothing declared differs, but a person added fields the manifest does not declare. */
  readonly state: "modified" | "added" | "missing" | "unchecked";
  readonly uncheckedReason?: UncheckedReason;
  readonly message?: string;
  readonly fields: readonly FieldDrift[];
  /** Who changed it, with the time of each manager's last write; "unknown" when no one owns the change. */
  readonly managers: readonly Manager[];
  /** Earliest write of a manager that drifted it (from managedFields: survives restarts). */
  readonly since?: Date;
}

export interface DriftReport {
  readonly baseRevision: number;
  /** False when no revision is deployed and the latest was compared instead. */
  readonly baseIsDeployed: boolean;
  readonly managedResources: number;
  /** Only resources that are not in sync: modified, missing or unchecked. */
  readonly resources: readonly ResourceDrift[];
  readonly ignored: Readonly<Record<IgnoreReason, number>>;
}

/** An object's drift, as decided by its declared and live versions: the unit a memo keeps. */
export interface ObjectOutcome {
  readonly drift?: Omit<ResourceDrift, "resource">;
  readonly ignored: Readonly<Record<IgnoreReason, number>>;
}

export interface DriftInput {
  readonly release: string;
  readonly namespace: string;
  readonly baseRevision: number;
  readonly baseIsDeployed: boolean;
  readonly objects: readonly ManifestObject[];
  readonly namespaced: (apiVersion: string, kind: string) => boolean | undefined;
  readonly lookup: (resource: ResourceRef) => LiveLookup;
  /** `group/Kind/namespace/name` of workloads an HPA scales. */
  readonly hpaTargets: ReadonlySet<string>;
  readonly options: DriftOptions;
  /** With `revisionVersion` (uid/resourceVersion of the stored revision): skips unchanged objects. */
  readonly memo?: OutcomeMemo;
  readonly revisionVersion?: string;
}

export const UNKNOWN_MANAGER = "unknown";
/** In place of the values of an object that Helm's annotations do not tie to the release. */
export const NOT_SHOWN = "(not shown: the object is not annotated as this release's)";

export function analyzeDrift(input: DriftInput): DriftReport {
  const ignored: Record<IgnoreReason, number> = { annotation: 0, hpa: 0, manager: 0, rule: 0 };
  const resources: ResourceDrift[] = [];
  for (const object of input.objects) {
    const resource = resourceRef(object, input.namespace, input.namespaced(object.apiVersion, object.kind));
    const identity: ObjectIdentity = {
      release: input.release,
      namespace: resource.namespace ?? "",
      group: groupOf(resource.apiVersion),
      kind: resource.kind,
      name: resource.name,
    };
    const rules = input.options.rules.filter((rule) => ruleMatchesObject(rule, identity));
    const live = input.lookup(resource);
    if (live.state !== "found" && rules.some(ignoresWholeObject)) {
      // Ignored whole: neither its absence nor why it could not be read is reported.
      ignored.rule++;
      continue;
    }
    if (live.state === "unchecked") {
      resources.push({
        resource,
        state: "unchecked",
        uncheckedReason: live.reason,
        message: live.message,
        fields: [],
        managers: [],
      });
      continue;
    }
    if (live.state === "missing") {
      resources.push({
        resource,
        state: "missing",
        fields: [],
        managers: [{ manager: UNKNOWN_MANAGER, operation: "" }],
      });
      continue;
    }
    const outcome = memoizedOutcome(object, resource, live, input, identity, rules);
    if (!outcome) {
      // A copy dropped without its outcome filed: a scan that did not read what it needed.
      resources.push({
        resource,
        state: "unchecked",
        uncheckedReason: "error",
        message: "its live copy was not read in this scan",
        fields: [],
        managers: [],
      });
      continue;
    }
    for (const reason of IGNORE_REASONS) ignored[reason] += outcome.ignored[reason];
    if (outcome.drift) resources.push({ resource, ...outcome.drift });
  }
  return {
    baseRevision: input.baseRevision,
    baseIsDeployed: input.baseIsDeployed,
    managedResources: input.objects.length,
    resources,
    ignored,
  };
}

const IN_SYNC: ObjectOutcome = Object.freeze({
  ignored: Object.freeze({ annotation: 0, hpa: 0, manager: 0, rule: 0 }),
});

/** Whether an HPA scales the object, so a changed spec.replicas is meant (when configured so). */
export function scaledByHpa(
  options: DriftOptions,
  hpaTargets: ReadonlySet<string>,
  resource: ResourceRef,
): boolean {
  return (
    options.ignoreHpaReplicas &&
    hpaTargets.has(
      scaleTargetKey(groupOf(resource.apiVersion), resource.kind, resource.namespace ?? "", resource.name),
    )
  );
}

/** The object's outcome: known to the memo, or compared now (and filed); undefined when neither can be. */
function memoizedOutcome(
  object: ManifestObject,
  resource: ResourceRef,
  live: Extract<LiveLookup, { state: "found" | "known" }>,
  input: DriftInput,
  identity: ObjectIdentity,
  rules: readonly IgnoreRule[],
): ObjectOutcome | undefined {
  const key =
    input.memo && input.revisionVersion && live.version
      ? {
          revisionVersion: input.revisionVersion,
          ref: resource,
          liveVersion: live.version,
          scaledByHpa: isScaledByHpa(input, identity),
        }
      : undefined;
  const cached = key === undefined ? undefined : input.memo?.get(key);
  if (cached) return cached;
  if (live.state === "known") return undefined;
  const ignored: Record<IgnoreReason, number> = { annotation: 0, hpa: 0, manager: 0, rule: 0 };
  const drift = objectDrift(object, live.object, input, identity, rules, ignored);
  // Most objects are in sync with nothing ignored: they share one outcome.
  const outcome =
    drift || IGNORE_REASONS.some((reason) => ignored[reason] > 0)
      ? { ...(drift && { drift }), ignored }
      : IN_SYNC;
  if (key !== undefined) input.memo?.set(key, outcome);
  return outcome;
}

function isScaledByHpa(input: DriftInput, identity: ObjectIdentity): boolean {
  return (
    input.options.ignoreHpaReplicas &&
    input.hpaTargets.has(scaleTargetKey(identity.group, identity.kind, identity.namespace, identity.name))
  );
}

function objectDrift(
  object: ManifestObject,
  live: Readonly<Record<string, unknown>>,
  input: DriftInput,
  identity: ObjectIdentity,
  rules: readonly IgnoreRule[],
  ignored: Record<IgnoreReason, number>,
): Omit<ResourceDrift, "resource"> | undefined {
  const entries = managedFieldsOf(live);
  // Every diff of a Secret, whichever rule found it, shows only what cannot hold its data; and an
  // object Helm's annotations do not tie to this release shows which fields differ, never their
  // values: a record is anyone's input, and must not reveal objects its author could not read.
  const show = isSecretObject(object.kind, live)
    ? redactSecretDiff
    : ownedByRelease(live, input)
      ? (diff: FieldDiff) => diff
      : hideValues;
  const notHelm = (entry: ManagedFieldsEntry) => !input.options.helmManagers.includes(entry.manager);
  const candidates = [
    ...[
      ...compareObject(object.body, live, { kind: object.kind }).map(show),
      ...ownershipDiffs(live, input),
    ].map((diff) => ({ diff, owners: ownersOf(entries, diff.path).filter(notHelm), handMade: false })),
    ...handMadeDiffs(object, live, entries, input.options).map((addition) => ({
      ...addition,
      diff: show(addition.diff),
    })),
  ];
  const metadata = isObject(live.metadata) ? live.metadata : {};
  const byAnnotation = annotationIgnores(isObject(metadata.annotations) ? metadata.annotations : {});
  const scaledByHpa = isScaledByHpa(input, identity);

  const fields: FieldDrift[] = [];
  let declaredDrift = false;
  const driftEntries = new Map<string, ManagedFieldsEntry>();
  for (const { diff, owners, handMade } of candidates) {
    const managers = [...new Set(owners.map((entry) => entry.manager))];
    const reason = ignoreReason(diff, managers, byAnnotation, scaledByHpa, rules, input.options);
    if (reason) {
      ignored[reason]++;
      continue;
    }
    declaredDrift ||= !handMade;
    for (const owner of owners) driftEntries.set(`${owner.manager}/${owner.subresource ?? ""}`, owner);
    fields.push({
      path: formatPath(diff.path),
      change: diff.change,
      declared: diff.declared,
      live: diff.live,
      sensitive: diff.sensitive,
      managers,
    });
  }
  if (fields.length === 0) return undefined;
  const managers: Manager[] = [...driftEntries.values()].map((entry) => {
    const time = entry.time ? new Date(entry.time) : undefined;
    return {
      manager: entry.manager,
      operation: entry.operation,
      ...(entry.subresource && { subresource: entry.subresource }),
      ...(time && !Number.isNaN(time.getTime()) && { time }),
    };
  });
  for (const unattributed of unattributedWriters(fields)) managers.push(unattributed);
  const times = managers.flatMap((manager) => (manager.time ? [manager.time.getTime()] : []));
  return {
    state: declaredDrift ? "modified" : "added",
    fields,
    managers,
    ...(times.length > 0 && { since: new Date(Math.min(...times)) }),
  };
}

const UNKNOWN: Manager = { manager: UNKNOWN_MANAGER, operation: "" };
/**
 * The scale subresource's autoscaling/v1 Scale drops `replicas: 0` (omitempty), so a scale
 * to zero removes every owner of spec.replicas; with no owner left, the apiserver then skips
 * tracking later scales too (skipNonApplied). A changed spec.replicas that nobody owns was
 * written through the scale subresource, by someone the apiserver no longer names.
 */
const UNKNOWN_SCALE: Manager = { manager: UNKNOWN_MANAGER, operation: "Update", subresource: "scale" };

/** Who wrote the fields no manager owns: as much as the cluster still tells. */
function unattributedWriters(fields: readonly FieldDrift[]): Manager[] {
  const unowned = fields.filter((field) => field.managers.length === 0);
  const scaled = unowned.filter((field) => field.path === "spec.replicas" && field.change === "changed");
  return [
    ...(scaled.length > 0 ? [UNKNOWN_SCALE] : []),
    ...(unowned.length > scaled.length ? [UNKNOWN] : []),
  ];
}

/** Fields a person's tools added that the manifest does not declare (see undeclared.ts). */
function handMadeDiffs(
  object: ManifestObject,
  live: Readonly<Record<string, unknown>>,
  entries: readonly ManagedFieldsEntry[],
  options: DriftOptions,
) {
  const handMade = entries.filter((entry) => isHandMade(entry, options.humanManagers, options.helmManagers));
  if (handMade.length === 0) return [];
  const secret = isSecretObject(object.kind, live);
  return handMadeAdditions(secret, object.body, live, handMade).map((addition) => ({
    diff: {
      path: addition.path,
      declared: undefined,
      live: addition.live,
      change: "added",
      sensitive: false,
    } satisfies FieldDiff,
    owners: addition.owners,
    handMade: true,
  }));
}

function ignoreReason(
  diff: FieldDiff,
  managers: readonly string[],
  byAnnotation: { all: boolean; paths: readonly string[] },
  scaledByHpa: boolean,
  rules: readonly IgnoreRule[],
  options: DriftOptions,
): IgnoreReason | undefined {
  if (byAnnotation.all || byAnnotation.paths.some((pointer) => pointerMatches(pointer, diff.path)))
    return "annotation";
  if (scaledByHpa && pointerMatches("/spec/replicas", diff.path)) return "hpa";
  if (managers.length > 0 && managers.every((manager) => options.ignoreManagers.includes(manager)))
    return "manager";
  if (rules.some((rule) => ruleIgnoresField(rule, diff.path, managers))) return "rule";
  return undefined;
}

/** Whether Helm's annotations on the live object name this release (as Helm wrote them on apply). */
function ownedByRelease(live: Readonly<Record<string, unknown>>, input: DriftInput): boolean {
  const metadata = isObject(live.metadata) ? live.metadata : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  return (
    annotations[RELEASE_NAME_ANNOTATION] === input.release &&
    annotations[RELEASE_NAMESPACE_ANNOTATION] === input.namespace
  );
}

function hideValues(diff: FieldDiff): FieldDiff {
  return {
    ...diff,
    declared: diff.declared === undefined ? undefined : NOT_SHOWN,
    live: diff.live === undefined ? undefined : NOT_SHOWN,
    sensitive: true,
  };
}

/**
 * Helm marks every object it owns; an upgrade refuses objects whose marks are gone or
 * name another release ("invalid ownership metadata"), so a changed mark is drift.
 */
function ownershipDiffs(live: Readonly<Record<string, unknown>>, input: DriftInput): FieldDiff[] {
  const metadata = isObject(live.metadata) ? live.metadata : {};
  const labels = isObject(metadata.labels) ? metadata.labels : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  const expected: [string, Record<string, unknown>, string, string][] = [
    ["labels", labels, MANAGED_BY_LABEL, "Helm"],
    ["annotations", annotations, RELEASE_NAME_ANNOTATION, input.release],
    ["annotations", annotations, RELEASE_NAMESPACE_ANNOTATION, input.namespace],
  ];
  return expected.flatMap(([map, values, key, value]) => {
    const actual = values[key];
    if (actual === value) return [];
    return [
      {
        path: [{ field: "metadata" }, { field: map }, { field: key }],
        declared: value,
        live: actual,
        change: actual === undefined ? "removed" : "changed",
        sensitive: false,
      } satisfies FieldDiff,
    ];
  });
}
