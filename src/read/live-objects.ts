/**
 * Reads the live objects a scan compares, per kind rather than per object: one watched
 * collection per kind (label app.kubernetes.io/managed-by=Helm). A declared object it
 * does not hold was deleted or lost its Helm label (itself drift): the kind's names are
 * then watched too, metadata-only, and only an object that exists unlabelled is read,
 * once per change. A kind the exporter may not read, or an API no longer served, makes
 * its objects unchecked, never "in sync".
 *
 * Objects are kept as their JSON text with their uid/resourceVersion: the text is a
 * fraction of the parsed object's memory, and the drift analysis parses it only when
 * the object or its release changed since the last scan.
 */
import type { ClusterObject } from "../analysis/hooks.ts";
import type { LiveLookup, UncheckedReason } from "../analysis/drift/drift.ts";
import { HELM_MANAGED_SELECTOR } from "../helm/vocabulary.ts";
import { namespacedName, refKey, type ResourceRef } from "../model/refs.ts";
import { KubeApiError, objectVersion, type KubeObject } from "../kube/client.ts";
import { mapLimit } from "../util/pool.ts";
import { isObject } from "../util/object.ts";
import type { Collections } from "./collections.ts";
import type { Discovery, ResourceInfo } from "./discovery.ts";
import { toClusterObject } from "./hook-objects.ts";
import { apiBase, inScope, type NamespaceScope } from "./namespaces.ts";
import { errorMessage } from "../util/errors.ts";

/** Most objects a scan reads one by one (GET); the rest of a burst waits for the next scans. */
export const MAX_OBJECT_READS_PER_SCAN = 1000;

export interface LiveObjects {
  readonly lookup: (ref: ResourceRef) => LiveLookup;
  /** Kinds that could not be listed, with why. */
  readonly kindErrors: readonly { kind: string; reason: UncheckedReason; message: string }[];
  /** Everything the per-kind collections hold (Helm-labelled objects, declared or not). */
  readonly listed: readonly ClusterObject[];
}

/**
 * Compares a kind's found objects as soon as the kind is read (their lookups are set), so
 * their outcomes are memoized; their copies are then dropped and later lookups of them
 * answer "found, unchanged" from the memo.
 */
export type CompareKind = (refs: readonly ResourceRef[], lookup: (ref: ResourceRef) => LiveLookup) => void;

/**
 * Whether the analysis needs the live object at this version, or already has its outcome.
 * An object whose copy was dropped is read again (GET) only when it is needed: its release
 * has a new revision, or an HPA started or stopped scaling it.
 */
export type NeedsObject = (ref: ResourceRef, version: string) => boolean;

/** A live object known unchanged, whose outcome is memoized: reading it is a bug, loudly. */
function knownUnchanged(version: string, ref: ResourceRef): LiveLookup {
  return {
    state: "found",
    version,
    get object(): Readonly<Record<string, unknown>> {
      throw new Error(`${refKey(ref)}: live copy was dropped but its outcome is not memoized`);
    },
  };
}

interface KeptObject {
  /** uid/resourceVersion: changes whenever the object does. */
  readonly version: string;
  /** Until a scan has compared it; then only its version is kept, and its memoized outcome. */
  text: string | undefined;
  readonly summary: ClusterObject;
}

/**
 * A found object, parsed from its text each time the analysis reads it (once per object).
 * The parsed copy is not kept: a thousand releases' parsed objects alive together until the
 * scan ends were its peak memory.
 */
export class LiveCopy {
  readonly state = "found";
  readonly version: string;
  private readonly text: string;

  constructor(version: string, text: string) {
    this.version = version;
    this.text = text;
  }

  get object(): Readonly<Record<string, unknown>> {
    return JSON.parse(this.text) as Readonly<Record<string, unknown>>;
  }
}

/*
 * A collection keeps its `keep` function as long as it watches, so these are made at module
 * level: a closure made inside a scan holds that scan's whole scope (every object it read
 * and compared) for the life of the process.
 */
function keepComparable(
  apiVersion: string,
  kind: string,
  helmManagers: readonly string[],
  scope: NamespaceScope,
) {
  return (item: KubeObject): KeptObject | undefined =>
    // A cluster-wide list also returns the excluded namespaces' objects: they are not kept.
    item.metadata.namespace !== undefined && !inScope(scope, item.metadata.namespace)
      ? undefined
      : {
          version: objectVersion(item.metadata),
          text: JSON.stringify(comparable(item, helmManagers)),
          summary: toClusterObject(item, apiVersion, kind),
        };
}

const keepVersion = (item: KubeObject): string => objectVersion(item.metadata);

export async function readLiveObjects(
  collections: Collections,
  discovery: Discovery,
  scope: NamespaceScope,
  refs: readonly ResourceRef[],
  helmManagers: readonly string[],
  needsObject: NeedsObject,
  compareKind: CompareKind,
  concurrency: number,
  signal?: AbortSignal,
): Promise<LiveObjects> {
  const results = new Map<string, LiveLookup>();
  const kindErrors: { kind: string; reason: UncheckedReason; message: string }[] = [];
  const byKind = new Map<string, { info: ResourceInfo; refs: ResourceRef[] }>();
  for (const ref of refs) {
    if (ref.namespace !== undefined && !inScope(scope, ref.namespace)) {
      results.set(refKey(ref), {
        state: "unchecked",
        reason: "out_of_scope",
        message: `namespace ${ref.namespace} is outside the namespaces this exporter scans`,
      });
      continue;
    }
    const info = discovery.resolve(ref.apiVersion, ref.kind);
    if (!info) {
      results.set(refKey(ref), {
        state: "unchecked",
        reason: "not_served",
        message: `the API serves no ${ref.kind} in ${ref.apiVersion} (removed API version, or CRD not installed)`,
      });
      continue;
    }
    const key = `${ref.apiVersion}/${ref.kind}`;
    const group = byKind.get(key) ?? { info, refs: [] };
    group.refs.push(ref);
    byKind.set(key, group);
  }

  const lookup = (ref: ResourceRef): LiveLookup =>
    results.get(refKey(ref)) ?? { state: "unchecked", reason: "error", message: "object was not read" };
  const toGet: { ref: ResourceRef; info: ResourceInfo; version?: string }[] = [];
  const allListed: ClusterObject[] = [];
  await mapLimit([...byKind.values()], concurrency, async ({ info, refs: kindRefs }) => {
    const apiVersion = kindRefs[0]?.apiVersion ?? "";
    let listed: ReadonlyMap<string, KeptObject>;
    try {
      listed = await collections.readPaths(
        listPaths(info, scope, kindRefs),
        {
          purpose: `drift ${apiVersion}`,
          resource: info.resource,
          labelSelector: HELM_MANAGED_SELECTOR,
          keep: keepComparable(apiVersion, info.kind, helmManagers, scope),
        },
        signal,
      );
      for (const object of listed.values()) allListed.push(object.summary);
    } catch (error) {
      if (signal?.aborted) throw error;
      const unchecked = uncheckedFrom(error, `list ${info.resource}`);
      kindErrors.push({
        kind: `${info.group}/${info.kind}`,
        reason: unchecked.reason,
        message: unchecked.message,
      });
      for (const ref of kindRefs) results.set(refKey(ref), unchecked);
      return;
    }
    const unresolved: ResourceRef[] = [];
    const copies: { ref: ResourceRef; object: KeptObject }[] = [];
    for (const ref of kindRefs) {
      const object = listed.get(namespacedName(ref.namespace, ref.name));
      if (!object) unresolved.push(ref);
      else if (object.text !== undefined) {
        results.set(refKey(ref), new LiveCopy(object.version, object.text));
        copies.push({ ref, object });
      } else if (needsObject(ref, object.version)) toGet.push({ ref, info });
      else results.set(refKey(ref), knownUnchanged(object.version, ref));
    }
    if (copies.length > 0) {
      // Compared now, kind by kind, the copies are dropped before the next kinds arrive: the
      // texts of every kind alive together were the cold scan's peak memory.
      compareKind(
        copies.map(({ ref }) => ref),
        lookup,
      );
      for (const { ref, object } of copies) {
        object.text = undefined;
        results.set(refKey(ref), knownUnchanged(object.version, ref));
      }
    }
    if (unresolved.length === 0) return;
    // Declared but not labelled: deleted, or its Helm label removed. Which of the two, and whether
    // it changed since the last scan, is known from the kind's names and versions, watched only
    // while such objects exist; each unlabelled object is then read again only when it changed.
    let present: ReadonlyMap<string, string> | undefined;
    try {
      present = await collections.readPaths(
        listPaths(info, scope, kindRefs),
        {
          purpose: "presence",
          resource: info.resource,
          metadataOnly: true,
          keep: keepVersion,
        },
        signal,
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      // Without the names they are unknown: asking for each one instead cost a GET per object
      // per scan (thousands for one crafted release) exactly when the apiserver was struggling.
      const unchecked = uncheckedFrom(error, `list ${info.resource} names`);
      kindErrors.push({
        kind: `${info.group}/${info.kind}`,
        reason: unchecked.reason,
        message: unchecked.message,
      });
      for (const ref of unresolved) results.set(refKey(ref), unchecked);
      return;
    }
    for (const ref of unresolved) {
      const version = present.get(namespacedName(ref.namespace, ref.name));
      if (version === undefined) results.set(refKey(ref), { state: "missing" });
      else toGet.push({ ref, info, version });
    }
  });

  // Objects read one by one are bounded per scan; those beyond are unchecked now and read by the
  // next scans (each one read is remembered), so a burst of them never becomes a burst of GETs.
  toGet.sort((a, b) => refKey(a.ref).localeCompare(refKey(b.ref)));
  for (const { ref } of toGet.splice(MAX_OBJECT_READS_PER_SCAN)) {
    results.set(refKey(ref), {
      state: "unchecked",
      reason: "error",
      message: `not read: more than ${String(MAX_OBJECT_READS_PER_SCAN)} objects to read one by one in this scan; the next scans read the rest`,
    });
  }
  await mapLimit(toGet, concurrency, async ({ ref, info, version }) => {
    try {
      const object = await collections.getObject<KubeObject>(
        objectPath(info, ref.namespace, ref.name),
        info.resource,
        version,
        signal,
      );
      results.set(refKey(ref), {
        state: "found",
        version: objectVersion(object.metadata),
        object,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      results.set(
        refKey(ref),
        error instanceof KubeApiError && error.isNotFound
          ? { state: "missing" }
          : uncheckedFrom(error, `get ${info.resource}`),
      );
    }
  });

  return {
    lookup,
    kindErrors,
    listed: allListed,
  };
}

/**
 * What the drift analysis reads of a live object: all but its status (never compared) and
 * Helm's own managedFields entries (they only ever exclude Helm from the authors of a
 * change). Those are most of an object's bytes, and this is kept for every object.
 */
function comparable(item: KubeObject, helmManagers: readonly string[]): KubeObject {
  const rest: Record<string, unknown> = { ...item };
  delete rest.status;
  const metadata: Record<string, unknown> = { ...item.metadata };
  if (Array.isArray(metadata.managedFields)) {
    metadata.managedFields = metadata.managedFields.filter(
      (entry: unknown) =>
        !(isObject(entry) && typeof entry.manager === "string" && helmManagers.includes(entry.manager)),
    );
  }
  return { ...rest, metadata: metadata as unknown as KubeObject["metadata"] };
}

type Unchecked = Extract<LiveLookup, { state: "unchecked" }>;

function uncheckedFrom(error: unknown, what: string): Unchecked {
  if (error instanceof KubeApiError) {
    if (error.isForbidden)
      return { state: "unchecked", reason: "forbidden", message: `${what}: forbidden (RBAC)` };
    if (error.isNotFound) return { state: "unchecked", reason: "not_served", message: `${what}: not served` };
  }
  return {
    state: "unchecked",
    reason: "error",
    message: `${what}: ${errorMessage(error)}`,
  };
}

/** Cluster-wide when the scan covers all namespaces, else one list per namespace actually used. */
function listPaths(info: ResourceInfo, scope: NamespaceScope, refs: readonly ResourceRef[]): string[] {
  if (!info.namespaced || scope.include.length === 0)
    return [`${apiBase(info.group, info.version)}/${info.resource}`];
  const namespaces = [...new Set(refs.map((ref) => ref.namespace ?? ""))].sort();
  return namespaces.map(
    (namespace) =>
      `${apiBase(info.group, info.version)}/namespaces/${encodeURIComponent(namespace)}/${info.resource}`,
  );
}

function objectPath(info: ResourceInfo, namespace: string | undefined, name: string): string {
  const scoped = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${apiBase(info.group, info.version)}${scoped}/${info.resource}/${encodeURIComponent(name)}`;
}
