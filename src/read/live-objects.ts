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
import { kindKey, namespacedName, refKey, type ResourceRef } from "../model/refs.ts";
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

/** One kind's declared objects, as read: what the drift comparison takes, then lets go. */
export interface KindBatch {
  /**
   * Each declared object of the kind, by refKey: found with a copy to compare now (LiveCopy),
   * known (found at a version, its copy dropped after an earlier comparison, or never read: an
   * object that lost Helm's label), missing, or unchecked.
   */
  readonly lookups: ReadonlyMap<string, LiveLookup>;
}

/** Why a kind could not be read: its objects are unchecked. */
export interface KindError {
  readonly kind: string;
  readonly reason: UncheckedReason;
  readonly message: string;
}

export interface LiveObjectReaderOptions {
  readonly collections: Collections;
  readonly discovery: Discovery;
  readonly scope: NamespaceScope;
  /** Their managedFields entries are not kept: they only ever exclude Helm from a change's authors. */
  readonly helmManagers: readonly string[];
  readonly concurrency: number;
  readonly signal?: AbortSignal;
}

interface Known {
  readonly info: ResourceInfo;
  readonly version: string;
}

/**
 * The live objects of one scan's drift comparison, read one way: kinds() yields each kind's
 * objects as the kind is read, and read() fetches, one by one, those the caller needs and has
 * no copy of. It never asks the analysis anything: the caller decides what it needs.
 */
export class LiveObjectReader {
  private readonly options: LiveObjectReaderOptions;
  /** Objects found without a copy, by refKey: what read() can fetch. */
  private readonly known = new Map<string, Known>();
  private readsLeft = MAX_OBJECT_READS_PER_SCAN;
  private readonly listedObjects: ClusterObject[] = [];
  private readonly errors: KindError[] = [];

  constructor(options: LiveObjectReaderOptions) {
    this.options = options;
  }

  /** Everything the per-kind collections hold (Helm-labelled objects, declared or not), once kinds() is done. */
  get listed(): readonly ClusterObject[] {
    return this.listedObjects;
  }

  get kindErrors(): readonly KindError[] {
    return this.errors;
  }

  /**
   * The declared objects kind by kind, each kind as soon as it is read (several are read at
   * once): objects out of scope or of kinds not served first, as one batch. A kind's copies are
   * dropped once the caller asks for the next batch: compared then, the texts of every kind are
   * never alive together (they were the cold scan's peak memory).
   */
  async *kinds(refs: readonly ResourceRef[]): AsyncGenerator<KindBatch> {
    const { byKind, unreadable } = this.groupByKind(refs);
    if (unreadable.size > 0) yield { lookups: unreadable };
    const waiting = [...byKind.values()];
    const reading = new Map<number, Promise<{ id: number; batch: ReadKind }>>();
    let next = 0;
    const startOne = () => {
      const group = waiting.shift();
      if (!group) return;
      const id = next++;
      const read = this.readKind(group.info, group.refs).then((batch) => ({ id, batch }));
      read.catch(() => undefined); // an abort surfaces through the race below
      reading.set(id, read);
    };
    for (let started = 0; started < this.options.concurrency; started++) startOne();
    while (reading.size > 0) {
      const { id, batch } = await Promise.race(reading.values());
      reading.delete(id);
      startOne();
      yield { lookups: batch.lookups };
      batch.dropCopies();
    }
  }

  /**
   * Fetches (GET) objects kinds() gave as known, whose outcome the caller does not know: at most
   * MAX_OBJECT_READS_PER_SCAN per scan, in a stable order; the rest are unchecked this scan and,
   * each one read being remembered, read by the next ones.
   */
  async read(refs: readonly ResourceRef[]): Promise<ReadonlyMap<string, LiveLookup>> {
    const results = new Map<string, LiveLookup>();
    const toRead = [...refs].sort((a, b) => refKey(a).localeCompare(refKey(b)));
    for (const ref of toRead.splice(Math.max(this.readsLeft, 0))) {
      results.set(refKey(ref), {
        state: "unchecked",
        reason: "error",
        message: `not read: more than ${String(MAX_OBJECT_READS_PER_SCAN)} objects to read one by one in this scan; the next scans read the rest`,
      });
    }
    this.readsLeft -= toRead.length;
    const { collections, concurrency, signal } = this.options;
    await mapLimit(toRead, concurrency, async (ref) => {
      const known = this.known.get(refKey(ref));
      if (!known) throw new Error(`${refKey(ref)} was not found by kinds(): nothing to read`);
      try {
        const object = await collections.getObject<KubeObject>(
          objectPath(known.info, ref.namespace, ref.name),
          known.info.resource,
          known.version,
          signal,
        );
        results.set(refKey(ref), { state: "found", version: objectVersion(object.metadata), object });
      } catch (error) {
        if (signal?.aborted) throw error;
        results.set(
          refKey(ref),
          error instanceof KubeApiError && error.isNotFound
            ? { state: "missing" }
            : uncheckedFrom(error, `get ${known.info.resource}`),
        );
      }
    });
    return results;
  }

  /** Declared objects by kind; those out of scope or of kinds the API does not serve are unchecked at once. */
  private groupByKind(refs: readonly ResourceRef[]) {
    const byKind = new Map<string, { info: ResourceInfo; refs: ResourceRef[] }>();
    const unreadable = new Map<string, LiveLookup>();
    for (const ref of refs) {
      if (ref.namespace !== undefined && !inScope(this.options.scope, ref.namespace)) {
        unreadable.set(refKey(ref), {
          state: "unchecked",
          reason: "out_of_scope",
          message: `namespace ${ref.namespace} is outside the namespaces this exporter scans`,
        });
        continue;
      }
      const info = this.options.discovery.resolve(ref.apiVersion, ref.kind);
      if (!info) {
        unreadable.set(refKey(ref), {
          state: "unchecked",
          reason: "not_served",
          message: `the API serves no ${ref.kind} in ${ref.apiVersion} (removed API version, or CRD not installed)`,
        });
        continue;
      }
      const key = kindKey(ref);
      const group = byKind.get(key) ?? { info, refs: [] };
      group.refs.push(ref);
      byKind.set(key, group);
    }
    return { byKind, unreadable };
  }

  /** One kind: its Helm-labelled collection, and, for declared objects it lacks, the kind's names. */
  private async readKind(info: ResourceInfo, kindRefs: readonly ResourceRef[]): Promise<ReadKind> {
    const { collections, scope, helmManagers, signal } = this.options;
    const lookups = new Map<string, LiveLookup>();
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
    } catch (error) {
      if (signal?.aborted) throw error;
      return this.unchecked(info, kindRefs, uncheckedFrom(error, `list ${info.resource}`), lookups);
    }
    for (const object of listed.values()) this.listedObjects.push(object.summary);
    const unresolved: ResourceRef[] = [];
    const copies: KeptObject[] = [];
    for (const ref of kindRefs) {
      const object = listed.get(namespacedName(ref.namespace, ref.name));
      if (!object) unresolved.push(ref);
      else if (object.text !== undefined) {
        lookups.set(refKey(ref), new LiveCopy(object.version, object.text));
        copies.push(object);
      } else this.remember(ref, info, object.version, lookups);
    }
    const dropCopies = () => {
      for (const object of copies) object.text = undefined;
    };
    if (unresolved.length === 0) return { lookups, dropCopies };
    // Declared but not labelled: deleted, or its Helm label removed. Which of the two, and whether
    // it changed since the last scan, is known from the kind's names and versions, watched only
    // while such objects exist; an unlabelled object is read (read()) only when it is needed.
    let present: ReadonlyMap<string, string>;
    try {
      present = await collections.readPaths(
        listPaths(info, scope, kindRefs),
        { purpose: "presence", resource: info.resource, metadataOnly: true, keep: keepVersion },
        signal,
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      // Without the names they are unknown: asking for each one instead cost a GET per object
      // per scan (thousands for one crafted release) exactly when the apiserver was struggling.
      this.unchecked(info, unresolved, uncheckedFrom(error, `list ${info.resource} names`), lookups);
      return { lookups, dropCopies };
    }
    for (const ref of unresolved) {
      const version = present.get(namespacedName(ref.namespace, ref.name));
      if (version === undefined) lookups.set(refKey(ref), { state: "missing" });
      else this.remember(ref, info, version, lookups);
    }
    return { lookups, dropCopies };
  }

  private remember(
    ref: ResourceRef,
    info: ResourceInfo,
    version: string,
    lookups: Map<string, LiveLookup>,
  ): void {
    this.known.set(refKey(ref), { info, version });
    lookups.set(refKey(ref), { state: "known", version });
  }

  private unchecked(
    info: ResourceInfo,
    refs: readonly ResourceRef[],
    unchecked: Unchecked,
    lookups: Map<string, LiveLookup>,
  ): ReadKind {
    this.errors.push({
      kind: `${info.group}/${info.kind}`,
      reason: unchecked.reason,
      message: unchecked.message,
    });
    for (const ref of refs) lookups.set(refKey(ref), unchecked);
    return { lookups, dropCopies: () => undefined };
  }
}

interface ReadKind {
  readonly lookups: ReadonlyMap<string, LiveLookup>;
  /** Forgets the copies the batch handed out: their outcomes are filed. */
  readonly dropCopies: () => void;
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
