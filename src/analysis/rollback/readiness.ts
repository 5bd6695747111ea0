/**
 * Would a bare `helm rollback` succeed now, and the next `helm upgrade`? From the release's
 * records, API discovery, its namespace, its hook objects, and what applying the target to each
 * live object would meet (objects.ts). Pure. Each rule, and each error text, is what real helm
 * v3.22 and v4.3 were seen to do (docs/rollback.md, test/support/rollback-scenarios.ts).
 */
import type { ApiKind, Hook, ManifestObject, ReleaseRecord, ReleaseStatus } from "../../helm/release.ts";
import { isPending } from "../../helm/release.ts";
import type { ClusterObject } from "../hooks.ts";
import { groupOf } from "../../model/refs.ts";
import type { Conflict, ObjectExamination } from "./objects.ts";
import type {
  BlockedObject,
  ReadinessReport,
  RevertedField,
  RollbackBlocker,
  RollbackReadiness,
  TakenOver,
  UpgradeBlocker,
} from "./types.ts";

/** A rollback hook's object, as the scan found it. */
export type HookObjectState =
  | { readonly state: "found"; readonly object: ClusterObject }
  | { readonly state: "absent" }
  | { readonly state: "unchecked"; readonly message: string };

/** How the live state of one object of the target stands, as the scan found it. */
export type LiveState =
  | {
      readonly state: "examined";
      readonly examination: ObjectExamination;
      /** The release its annotations name (`namespace/release`), if they name one. */
      readonly owner?: string;
    }
  | { readonly state: "missing" }
  | { readonly state: "unchecked"; readonly message: string };

export interface ReadinessInput {
  readonly release: string;
  readonly namespace: string;
  /** Where Helm stores its records: the new revision a rollback or upgrade writes goes there. */
  readonly storage: "secret" | "configmap";
  /** Every stored revision, its status as its record says where read. */
  readonly revisions: readonly {
    readonly revision: number;
    readonly status: ReleaseStatus;
    readonly updated?: Date;
  }[];
  /** The latest revision's record; undefined when unreadable. */
  readonly last: ReleaseRecord | undefined;
  /**
   * The revision rolled back to when one is named (`helm rollback <release> <N>`); absent: a
   * bare rollback's, Last - 1.
   */
  readonly targetRevision?: number;
  /** The target's record, if that revision exists; `unreadable` when it cannot be decoded. */
  readonly target?: { readonly record: ReleaseRecord } | { readonly unreadable: string };
  /**
   * The revision an upgrade starts from (newest deployed, else Last if failed or superseded);
   * "unknown" when a record that decides it is unreadable.
   */
  readonly upgradeBase: ReleaseRecord | "unknown" | undefined;
  /** Whether the cluster serves this kind at this version; undefined when that cannot be told. */
  readonly served: (apiVersion: string, kind: string) => boolean | undefined;
  /** Whether the kind is namespaced; undefined when not known (not served). */
  readonly namespaced: (apiVersion: string, kind: string) => boolean | undefined;
  readonly namespaceState: "active" | "terminating" | "unknown";
  /** The live object of a rollback hook of the target, by the hook's name and namespace. */
  readonly hookObject: (hook: Hook, namespace: string) => HookObjectState;
  /** The live state of an object of the target. */
  readonly live: (object: ManifestObject) => LiveState;
  readonly helmManagers: readonly string[];
  /** The API kinds each stored revision uses (manifest and hooks), of those whose records were read. */
  readonly revisionKinds: ReadonlyMap<number, readonly ApiKind[]>;
}

export function analyzeReadiness(input: ReadinessInput): ReadinessReport {
  return {
    rollback: rollbackReadiness(input),
    upgrade: upgradeReadiness(input),
    unservedApiRevisions: [...input.revisionKinds]
      .filter(([, kinds]) => kinds.some(({ apiVersion, kind }) => input.served(apiVersion, kind) === false))
      .map(([revision]) => revision)
      .sort((a, b) => a - b),
  };
}

function rollbackReadiness(input: ReadinessInput): RollbackReadiness {
  const lastRevision = Math.max(0, ...input.revisions.map((entry) => entry.revision));
  const targetRevision = input.targetRevision ?? lastRevision - 1;
  const targetEntry = input.revisions.find((entry) => entry.revision === targetRevision);
  if (!targetEntry || !input.target) {
    // helm reads the target before it writes anything: nothing written.
    return notReady(
      [
        {
          reason: "no_target",
          message: `release has no ${String(targetRevision)} version`,
          leaves: "nothing",
        },
      ],
      targetRevision,
    );
  }
  if ("unreadable" in input.target)
    return notReady(
      [
        {
          reason: "unchecked",
          message: `revision ${String(targetRevision)} cannot be read: ${input.target.unreadable}`,
        },
      ],
      targetRevision,
      targetEntry.status,
    );
  const target = input.target.record;
  const applyMethod = target.applyMethod;
  const blockers: RollbackBlocker[] = [];
  if (input.namespaceState === "terminating")
    blockers.push({
      reason: "namespace_terminating",
      message: terminatingMessage(input, lastRevision),
      leaves: "nothing",
    });
  else if (input.namespaceState === "unknown")
    blockers.push({
      reason: "unchecked",
      message: `whether namespace ${input.namespace} is being deleted is unknown (it could not be read)`,
    });
  if (!input.last)
    blockers.push({
      reason: "unchecked",
      message: `revision ${String(lastRevision)} cannot be read: its manifest is unknown`,
    });
  blockers.push(...unservedBlockers(input, target));
  blockers.push(...hookBlockers(input, target));
  const applied = applyBlockers(input, target);
  blockers.push(...applied.blockers);
  if (target.status === "failed" && refusedByApiserver(target.description))
    blockers.push({
      reason: "target_failed",
      message: target.description.replace(/^(Install|Upgrade|Rollback) "[^"]*" failed: /, ""),
      note: `revision ${String(targetRevision)} failed this way, the apiserver refusing one of its objects: applying it again fails the same way`,
      leaves: "failed",
    });
  return {
    targetRevision,
    targetStatus: target.status,
    applyMethod,
    ready: blockers.length === 0,
    blockers,
    reverted: applied.reverted,
    takenOver: applied.takenOver,
  };
}

/** What the apiserver answers helm's create of the next revision's record in a terminating namespace. */
function terminatingMessage(input: ReadinessInput, lastRevision: number): string {
  return `create: failed to create: ${input.storage}s "sh.helm.release.v1.${input.release}.v${String(lastRevision + 1)}" is forbidden: unable to create new content in namespace ${input.namespace} because it is being terminated`;
}

function notReady(
  blockers: RollbackBlocker[],
  targetRevision?: number,
  targetStatus?: string,
): RollbackReadiness {
  return {
    ...(targetRevision !== undefined && { targetRevision }),
    ...(targetStatus !== undefined && { targetStatus }),
    ready: false,
    blockers,
    reverted: [],
    takenOver: [],
  };
}

/** An object of a manifest whose kind the cluster does not serve at its version. */
function unservedObjects(record: ReleaseRecord, input: ReadinessInput): ManifestObject[] {
  return record.manifest.filter((object) => input.served(object.apiVersion, object.kind) === false);
}

/** What helm prints when its REST mapper does not know an object's kind (an API not served). */
function resourceMappingNotFound(object: {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}): string {
  return `resource mapping not found for name: "${object.name}" namespace: "${object.namespace ?? ""}" from "": no matches for kind "${object.kind}" in version "${object.apiVersion}"\nensure CRDs are installed first`;
}

/**
 * Helm builds Last's manifest, then the target's, then the target's rollback hooks, into objects:
 * an API the cluster does not serve fails the rollback there, after it wrote its revision, which
 * stays pending-rollback.
 */
function unservedBlockers(input: ReadinessInput, target: ReleaseRecord): RollbackBlocker[] {
  const blockers: RollbackBlocker[] = [];
  const manifests: [string, ReleaseRecord | undefined][] = [
    ["current", input.last],
    ["new", target],
  ];
  for (const [which, record] of manifests) {
    const [first] = record ? unservedObjects(record, input) : [];
    if (first)
      blockers.push({
        reason: "api_not_served",
        object: blocked(first, input),
        message: `unable to build kubernetes objects from ${which} release manifest: ${resourceMappingNotFound(first)}`,
        leaves: "pending-rollback",
      });
  }
  for (const hook of rollbackHooks(target)) {
    if (!hook.apiVersion || input.served(hook.apiVersion, hook.kind) !== false) continue;
    const deleteFirst = deletePolicies(hook).includes("before-hook-creation");
    blockers.push({
      reason: "api_not_served",
      object: {
        apiVersion: hook.apiVersion,
        kind: hook.kind,
        name: hook.name,
        ...(hook.namespace && { namespace: hook.namespace }),
      },
      message: deleteFirst
        ? `unable to build kubernetes object for deleting hook ${hook.path}: ${resourceMappingNotFound({ ...hook, apiVersion: hook.apiVersion })}`
        : `unable to build kubernetes object for ${hookEvent(hook)} hook ${hook.path}: ${resourceMappingNotFound({ ...hook, apiVersion: hook.apiVersion })}`,
      leaves: "pending-rollback",
    });
  }
  return blockers;
}

/**
 * The target's rollback hooks meet their objects: one left behind (its policy lacks
 * before-hook-creation) fails client-side apply ("already exists"); server-side apply applies over
 * it, unless someone else changed it. One stuck deleting fails client-side apply too.
 */
function hookBlockers(input: ReadinessInput, target: ReleaseRecord): RollbackBlocker[] {
  const blockers: RollbackBlocker[] = [];
  for (const hook of rollbackHooks(target)) {
    const namespace = hook.namespace ?? input.namespace;
    const found = input.hookObject(hook, namespace);
    const object = { apiVersion: hook.apiVersion ?? "", kind: hook.kind, namespace, name: hook.name };
    if (found.state === "unchecked") {
      blockers.push({ reason: "unchecked", object, message: found.message });
      continue;
    }
    if (found.state === "absent") continue;
    const existing = found.object;
    const prefix = `warning: Hook ${hookEvent(hook)} ${hook.path} failed:`;
    const resource = `${hook.kind.toLowerCase()}s "${hook.name}"`;
    const deletesFirst = deletePolicies(hook).includes("before-hook-creation");
    // Helm deletes it first; with finalizers it stays, deleting, until their controllers let it go.
    const held = existing.finalizers.length > 0;
    const othersChanged = (existing.managers ?? []).filter(
      (manager) => !input.helmManagers.includes(manager),
    );
    if (target.applyMethod === "ssa") {
      if (!deletesFirst && othersChanged.length > 0)
        blockers.push({
          reason: "hook_conflict",
          object,
          message: `${prefix} conflict occurred while applying object ${namespace}/${hook.name} ${gvk({ apiVersion: object.apiVersion, kind: hook.kind })}: Apply failed with ...: conflict with "${othersChanged[0] ?? ""}"...`,
          note: `the hook's object, left by an earlier run (its delete policy lacks before-hook-creation), was since changed by ${othersChanged.join(", ")}`,
          leaves: "pending-rollback",
        });
      continue;
    }
    if (!deletesFirst)
      blockers.push({
        reason: "hook_conflict",
        object,
        message: `${prefix} ${resource} already exists`,
        note: "the hook's object was left by an earlier run: its delete policy lacks before-hook-creation",
        leaves: "pending-rollback",
      });
    else if (held)
      blockers.push({
        reason: "hook_conflict",
        object,
        message: `${prefix} object is being deleted: ${resource} already exists`,
        note: `the hook's object has finalizers (${existing.finalizers.join(", ")}): helm deletes it before creating it anew, and it stays until they are removed; helm v3 waits for it until --timeout and then fails with "context deadline exceeded"`,
        leaves: "pending-rollback",
      });
  }
  return blockers;
}

/** What applying the target to each live object would meet, and what it would take over or set back. */
function applyBlockers(input: ReadinessInput, target: ReleaseRecord) {
  const blockers: RollbackBlocker[] = [];
  const reverted: RevertedField[] = [];
  const takenOver: TakenOver[] = [];
  const inLast = new Set((input.last?.manifest ?? []).map((object) => identity(object, input.namespace)));
  for (const object of target.manifest) {
    if (input.served(object.apiVersion, object.kind) === false) continue; // said above
    // As helm prints an object: a cluster-scoped one with an empty namespace.
    const namespace =
      input.namespaced(object.apiVersion, object.kind) === false ? "" : (object.namespace ?? input.namespace);
    const live = input.live(object);
    const ref = blocked(object, input);
    if (live.state === "missing") continue; // created as the target declares it
    if (live.state === "unchecked") {
      blockers.push({ reason: "unchecked", object: ref, message: live.message });
      continue;
    }
    const { examination, owner } = live;
    const newToTarget = !inLast.has(identity(object, input.namespace));
    if (newToTarget && owner !== `${input.namespace}/${input.release}`)
      takenOver.push({ object: ref, owner: owner ?? "nobody (made by hand)" });
    if (examination.immutable.length > 0) {
      const errors = examination.immutable.map((change) => change.reason);
      // The apiserver's words: `<Kind>.<group> "<name>" is invalid: <error>`, several as `[a, b]`.
      const invalid = `${object.kind}${groupOf(object.apiVersion) ? `.${groupOf(object.apiVersion)}` : ""} "${object.name}" is invalid: ${errors.length === 1 ? (errors[0] ?? "") : `[${errors.join(", ")}]`}`;
      blockers.push({
        reason: "immutable_field",
        object: ref,
        message:
          target.applyMethod === "ssa"
            ? `server-side apply failed for object ${namespace}/${object.name} ${gvk(object)}: ${invalid}`
            : `cannot patch "${object.name}" with kind ${object.kind}: ${invalid}`,
        note: `the apiserver does not let ${examination.immutable.map((change) => change.path).join(", ")} change; deleting the object first lets helm create it anew`,
        leaves: "failed",
      });
    }
    if (examination.conflicts.length > 0) {
      const message = conflictMessage(object, namespace, examination);
      // An object the target adds, held by someone else: what Helm calls an ownership problem.
      blockers.push({
        reason: newToTarget ? "ownership" : "ssa_conflict",
        object: ref,
        message,
        leaves: "failed",
      });
    }
    for (const field of examination.reverted)
      reverted.push({ object: ref, path: field.path, managers: field.managers });
  }
  return { blockers, reverted, takenOver };
}

/**
 * The apiserver's conflict error, as apimachinery's managedfields words it (getConflictMessage):
 * one conflict on one line; several grouped by manager, managers sorted by their identifier.
 * helm joins the errors of every object with " && "; each blocker keeps its own.
 */
function conflictMessage(object: ManifestObject, namespace: string, examination: ObjectExamination): string {
  const { conflicts } = examination;
  const prefix = `conflict occurred while applying object ${namespace}/${object.name} ${gvk(object)}: Apply failed with`;
  const [only] = conflicts;
  if (conflicts.length === 1 && only)
    return `${prefix} 1 conflict: conflict with ${printManager(only)}: ${only.path}`;
  const byManager = new Map<string, { who: string; paths: string[] }>();
  for (const conflict of conflicts) {
    const id = managerIdentifier(conflict);
    const group = byManager.get(id) ?? { who: printManager(conflict), paths: [] };
    group.paths.push(conflict.path);
    byManager.set(id, group);
  }
  const lines = [...byManager.keys()].sort().flatMap((id) => {
    const group = byManager.get(id);
    return group ? [`conflicts with ${group.who}:`, ...group.paths.map((path) => `- ${path}`)] : [];
  });
  return `${prefix} ${String(conflicts.length)} conflicts: ${lines.join("\n")}`;
}

/** apimachinery's printManager: `"kubectl" with subresource "scale" using apps/v1`; an applier without "using". */
function printManager(conflict: Conflict): string {
  const subresource = conflict.subresource ? ` with subresource ${JSON.stringify(conflict.subresource)}` : "";
  const using = conflict.operation === "Update" ? ` using ${conflict.apiVersion ?? ""}` : "";
  return `${JSON.stringify(conflict.manager)}${subresource}${using}`;
}

/** apimachinery's BuildManagerIdentifier: the entry as JSON, without time or fields (an applier without apiVersion). */
function managerIdentifier(conflict: Conflict): string {
  return JSON.stringify({
    manager: conflict.manager,
    operation: conflict.operation,
    ...(conflict.operation !== "Apply" && conflict.apiVersion && { apiVersion: conflict.apiVersion }),
    ...(conflict.subresource && { subresource: conflict.subresource }),
  });
}

function upgradeReadiness(input: ReadinessInput): { blocked: boolean; blockers: UpgradeBlocker[] } {
  const blockers: UpgradeBlocker[] = [];
  const newest = [...input.revisions].sort((a, b) => b.revision - a.revision)[0];
  if (newest && isPending(newest.status)) {
    blockers.push({
      reason: "pending",
      message: "another operation (install/upgrade/rollback) is in progress",
      ...(newest.updated && { since: newest.updated }),
    });
  } else if (!input.upgradeBase) {
    blockers.push({ reason: "no_deployed", message: `"${input.release}" has no deployed releases` });
  } else if (input.namespaceState === "terminating") {
    const lastRevision = Math.max(0, ...input.revisions.map((entry) => entry.revision));
    blockers.push({ reason: "namespace_terminating", message: terminatingMessage(input, lastRevision) });
  } else if (input.namespaceState === "unknown") {
    blockers.push({
      reason: "unchecked",
      message: `whether namespace ${input.namespace} is being deleted is unknown (it could not be read)`,
    });
  }
  blockers.push(...upgradeBaseBlockers(input));
  return { blocked: blockers.some((blocker) => blocker.reason !== "unchecked"), blockers };
}

/** The revision an upgrade starts from must build: every API it uses served. */
function upgradeBaseBlockers(input: ReadinessInput): UpgradeBlocker[] {
  const base = input.upgradeBase;
  if (!base) return [];
  if (base === "unknown")
    return [
      { reason: "unchecked", message: "the record of the revision an upgrade starts from could not be read" },
    ];
  const [unserved] = unservedObjects(base, input);
  if (unserved)
    return [
      {
        reason: "api_not_served",
        message: `unable to build kubernetes objects from current release manifest: ${resourceMappingNotFound(unserved)}`,
      },
    ];
  const unknown = base.manifest.find((object) => input.served(object.apiVersion, object.kind) === undefined);
  if (unknown)
    return [
      {
        reason: "unchecked",
        message: `whether the cluster serves ${unknown.apiVersion} ${unknown.kind} is unknown (API discovery not loaded or stale)`,
      },
    ];
  return [];
}

function rollbackHooks(record: ReleaseRecord): Hook[] {
  return record.hooks.filter(
    (hook) => hook.events.includes("pre-rollback") || hook.events.includes("post-rollback"),
  );
}

function hookEvent(hook: Hook): string {
  return hook.events.includes("pre-rollback") ? "pre-rollback" : "post-rollback";
}

/** No policy means before-hook-creation. */
function deletePolicies(hook: Hook): readonly string[] {
  return hook.deletePolicies.length > 0 ? hook.deletePolicies : ["before-hook-creation"];
}

/** The failures a record can describe that came from the apiserver refusing an object. */
function refusedByApiserver(description: string): boolean {
  return /failed to create resource|cannot patch|server-side apply failed|is invalid:|field is immutable/.test(
    description,
  );
}

function identity(object: ManifestObject, releaseNamespace: string): string {
  return `${object.apiVersion}/${object.kind}/${object.namespace ?? releaseNamespace}/${object.name}`;
}

function blocked(object: ManifestObject, input: ReadinessInput): BlockedObject {
  const { apiVersion, kind, name } = object;
  // Helm sets the release namespace on namespaced objects that name none; a cluster-scoped one has none.
  if (input.namespaced(apiVersion, kind) === false) return { apiVersion, kind, name };
  return { apiVersion, kind, namespace: object.namespace ?? input.namespace, name };
}

/** Go's schema.GroupVersionKind as helm prints it: `apps/v1, Kind=Deployment`, `/v1, Kind=ConfigMap`. */
function gvk(object: { apiVersion: string; kind: string }): string {
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/")
    : ["", object.apiVersion];
  return `${group ?? ""}/${version ?? ""}, Kind=${object.kind}`;
}
