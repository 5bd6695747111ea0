/**
 * One scan: read the cluster, analyse purely, return an immutable snapshot. Each
 * concern is a collector with its own success and duration, as in node_exporter.
 */
import {
  HOOK_ANNOTATION,
  RELEASE_NAME_ANNOTATION,
  RELEASE_NAMESPACE_ANNOTATION,
} from "../helm/vocabulary.ts";
import { objectRefKey, refKey, releaseKey, resourceRef, type ResourceRef } from "../model/refs.ts";
import {
  analyzeDrift,
  objectMemoKey,
  scaledByHpa,
  type DriftInput,
  type DriftOptions,
  type DriftReport,
  type ResourceDrift,
} from "../analysis/drift/drift.ts";
import { analyzeStatus, type StatusReport } from "../analysis/status.ts";
import type { ManifestObject, ReleaseRecord } from "../helm/release.ts";
import { objectVersion, type KubeClient } from "../kube/client.ts";
import type { Logger } from "../log/logger.ts";
import type { Collections } from "../read/collections.ts";
import type { Discovery } from "../read/discovery.ts";
import { analyzeHooks, type ClusterObject } from "../analysis/hooks.ts";
import { DEFAULT_HOOK_KINDS, readHookObjects } from "../read/hook-objects.ts";
import { readHpaTargets } from "../read/hpa.ts";
import { readLiveObjects } from "../read/live-objects.ts";
import { inScope, type NamespaceScope } from "../read/namespaces.ts";
import {
  FetchError,
  listedNamespace,
  listRevisions,
  type RevisionReader,
  type RevisionRef,
  type StorageListing,
} from "../read/release-storage.ts";
import type { DecodeResult } from "../helm/decode.ts";
import type { DriftCache } from "./drift-cache.ts";
import type { DriftMemory } from "./drift-memory.ts";
import type { ReleaseMemory, Unseen } from "./release-memory.ts";
import { mapLimit, yieldToEventLoop } from "../util/pool.ts";
import {
  completeSnapshot,
  releaseReport,
  type CollectorResult,
  type ReleaseFindings,
  type Snapshot,
} from "../report/snapshot.ts";
import { errorMessage } from "../util/errors.ts";

export interface ScanContext {
  readonly client: KubeClient;
  /** Listed once, then kept current by watches (or listed on every read, for a one-shot scan). */
  readonly collections: Collections;
  readonly driftCache: DriftCache;
  readonly reader: RevisionReader;
  readonly discovery: Discovery;
  readonly scope: NamespaceScope;
  readonly concurrency: number;
  readonly driftOptions: DriftOptions;
  readonly driftMemory: DriftMemory;
  /** The last results of each release, served (stale) while a scan cannot see it. */
  readonly releaseMemory: ReleaseMemory;
  /** Deletion older than this, with finalizers left, counts as stuck. */
  readonly terminatingAfterMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/**
 * The revision Helm believes is live, by the records wherever they can be read: the newest
 * revision labelled deployed whose record agrees (or cannot be read: the label is all there
 * is); else the newest other revision whose record says deployed (a label can hide it too);
 * else the latest. `statuses` gathers what the records read say.
 */
async function findBase(
  context: ScanContext,
  labelled: readonly RevisionRef[],
  latestRef: RevisionRef,
  latest: DecodeResult,
  statuses: Map<number, RevisionRef["status"]>,
): Promise<ReleaseHistory["base"]> {
  const read = async (ref: RevisionRef) => {
    const result = ref === latestRef ? latest : await context.reader.read(ref, context.signal);
    if (result.ok) statuses.set(ref.revision, result.record.status);
    return result;
  };
  const newestFirst = [...labelled].sort((a, b) => b.revision - a.revision);
  const labelledDeployed = (ref: RevisionRef) => (statuses.get(ref.revision) ?? ref.status) === "deployed";
  for (const ref of newestFirst.filter(labelledDeployed)) {
    const result = await read(ref);
    if (!result.ok || result.record.status === "deployed") return { ref, result };
  }
  for (const ref of newestFirst.filter((candidate) => !labelledDeployed(candidate))) {
    const result = await read(ref);
    if (result.ok && result.record.status === "deployed") return { ref, result };
  }
  return { ref: latestRef, result: latest };
}

/** One release as this scan saw it: its revisions (statuses as the records say, where read) and records. */
interface ReleaseHistory {
  readonly status: StatusReport;
  readonly revisions: readonly RevisionRef[];
  readonly latest: DecodeResult;
  /** The revision Helm believes is live (newest deployed, else the latest) and its record. */
  readonly base: { readonly ref: RevisionRef; readonly result: DecodeResult };
}

interface ReleasesSeen {
  readonly histories: readonly ReleaseHistory[];
  readonly listing: StorageListing;
  /** Releases listed whose records could not be fetched: unknown this scan, with why. */
  readonly unfetched: ReadonlyMap<string, string>;
}

const NOTHING_SEEN: ReleasesSeen = {
  histories: [],
  listing: { revisions: [], errors: [{ storage: "secret", path: "", message: "release storage not read" }] },
  unfetched: new Map(),
};

export async function scan(context: ScanContext): Promise<Snapshot> {
  const startedAt = new Date();
  const collectors: CollectorResult[] = [];
  const collect = collector(collectors, context);
  const seen = (await collect("releases", (errors) => collectReleases(context, errors))) ?? NOTHING_SEEN;
  const { histories } = seen;
  const drift = await collect("drift", (errors) => collectDrift(context, histories, errors));
  const hooks = await collect("hooks", (errors) => collectHooks(context, seen, drift?.listed ?? [], errors));
  // Nothing below runs for an aborted scan (collect rethrows an abort): it changes no state.
  const allSucceeded = collectors.every((result) => result.success);
  // What this scan did not read (a kind no release uses any more) stops being watched and
  // remembered; only a scan that read everything knows that.
  if (allSucceeded) context.collections.sweep();
  const memo = drift?.complete ? context.driftCache.sweep() : undefined;
  if (memo) logger(context).debug({ driftMemoHits: memo.hits, driftMemoMisses: memo.misses }, "drift memo");
  const known = new Set(histories.map(({ status }) => releaseKey(status)));
  const fresh: ReleaseFindings[] = histories.map(({ status }) => {
    const hookReport = hooks?.byRelease.get(releaseKey(status));
    return {
      ...status,
      ...drift?.outcomes.get(releaseKey(status)),
      ...(hookReport && { hooks: hookReport }),
    };
  });
  const finishedAt = new Date();
  const carried = context.releaseMemory.carry(unseenReleases(seen), known);
  context.releaseMemory.remember(fresh, finishedAt, (namespace: string, release: string) =>
    releaseIsGone(seen, known, namespace, release),
  );
  const releases = [...fresh, ...carried]
    .sort((a, b) => releaseKey(a).localeCompare(releaseKey(b)))
    .map(releaseReport);
  const goneReleases = [...(hooks?.byRelease.entries() ?? [])]
    .filter(([key]) => !known.has(key))
    .map(([key, report]) => {
      const [namespace = "", release = ""] = key.split("/");
      return { namespace, release, leftovers: report.leftovers };
    });
  const heard = context.collections.states.flatMap((state) =>
    state.lastHeardAt === undefined ? [] : [state.lastHeardAt],
  );
  const dataAgeSeconds = heard.length > 0 ? Math.max(0, finishedAt.getTime() - Math.min(...heard)) / 1000 : 0;
  // Release storage that could not be listed: what exists is unknown, the scan failed.
  const storageListed = seen.listing.errors.length === 0 && collectors[0]?.success === true;
  return completeSnapshot({
    startedAt,
    finishedAt,
    outcome: !storageListed ? "failed" : allSucceeded ? "success" : "partial",
    dataAgeSeconds,
    releases,
    unreferencedHooks: (hooks?.unreferenced ?? []).map(({ kind, namespace, name, annotations }) => ({
      kind,
      ...(namespace && { namespace }),
      name,
      hook: annotations[HOOK_ANNOTATION] ?? "",
    })),
    goneReleases,
    collectors,
  });
}

const logger = (context: ScanContext) => context.logger;

/**
 * Releases this scan could not see, with why: those whose records could not be fetched, and
 * those remembered in namespaces whose release storage could not be listed.
 */
function unseenReleases(seen: ReleasesSeen): Unseen {
  const unseen = new Map(seen.unfetched);
  for (const error of seen.listing.errors) {
    const scope = error.namespace === undefined ? "release storage" : `release storage in ${error.namespace}`;
    unseen.set(
      error.namespace === undefined ? "*" : `${error.namespace}/*`,
      `${scope} could not be listed: ${error.message}`,
    );
  }
  return unseen;
}

/** Gone: its namespace's storage was listed, and it is not there. Anything else is unknown. */
function releaseIsGone(
  seen: ReleasesSeen,
  known: ReadonlySet<string>,
  namespace: string,
  release: string,
): boolean {
  const key = releaseKey({ namespace, release });
  return !known.has(key) && !seen.unfetched.has(key) && listedNamespace(seen.listing, namespace);
}

/**
 * Runs collectors, each with its own success and duration: errors one reports (or throws) mark
 * it failed without stopping the scan. An abort (the scan's timeout, or shutdown) is not a
 * collector's failure: it ends the scan, so that nothing after it changes any state.
 */
function collector(results: CollectorResult[], context: ScanContext) {
  return async <T>(name: string, run: (errors: string[]) => Promise<T>): Promise<T | undefined> => {
    const started = performance.now();
    const errors: string[] = [];
    let value: T | undefined;
    try {
      value = await run(errors);
    } catch (error) {
      if (context.signal?.aborted) throw context.signal.reason ?? error;
      errors.push(errorText(error));
    }
    context.signal?.throwIfAborted();
    const durationSeconds = (performance.now() - started) / 1000;
    for (const message of errors) context.logger.error({ collector: name }, message);
    results.push({ name, success: errors.length === 0, durationSeconds, errors });
    return value;
  };
}

function errorText(error: unknown): string {
  return errorMessage(error);
}

async function collectReleases(context: ScanContext, errors: string[]): Promise<ReleasesSeen> {
  const listing = await listRevisions(context.collections, context.scope, context.signal);
  for (const error of listing.errors) {
    errors.push(`cannot list ${error.storage} release storage at ${error.path}: ${error.message}`);
  }
  // Records of revisions gone since the last scan are forgotten; only a complete listing says what is gone.
  if (listing.errors.length === 0) context.reader.retain(listing.revisions);
  const groups = groupReleases(listing.revisions, context.logger);
  const unfetched = new Map<string, string>();
  const histories = await mapLimit(groups, context.concurrency, async (revisions) => {
    try {
      return await readHistory(context, revisions);
    } catch (error) {
      if (!(error instanceof FetchError)) throw error;
      const first = revisions[0];
      if (first) unfetched.set(releaseKey(first), error.message);
      errors.push(error.message);
      return undefined;
    }
  });
  return { histories: histories.filter((history) => history !== undefined), listing, unfetched };
}

/**
 * Reads a release's latest record and the one Helm believes is live. Where a record is read,
 * its status wins over its storage label (a label can be edited, or left stale by an
 * interrupted helm): a revision labelled deployed whose record says otherwise is not the base.
 */
async function readHistory(context: ScanContext, labelled: readonly RevisionRef[]): Promise<ReleaseHistory> {
  const latestRef = newest(labelled);
  const latest = await context.reader.read(latestRef, context.signal);
  const statuses = new Map<number, RevisionRef["status"]>();
  if (latest.ok) statuses.set(latestRef.revision, latest.record.status);
  const base = await findBase(context, labelled, latestRef, latest, statuses);
  const revisions = labelled.map((ref) => {
    const status = statuses.get(ref.revision);
    return status === undefined || status === ref.status ? ref : { ...ref, status };
  });
  if (!latest.ok) {
    context.logger.warn(
      {
        namespace: latestRef.namespace,
        release: latestRef.release,
        revision: latestRef.revision,
        reason: latest.reason,
      },
      `release record unreadable: ${latest.message}`,
    );
  }
  const status = analyzeStatus({
    namespace: latestRef.namespace,
    release: latestRef.release,
    storage: latestRef.storage,
    revisions,
    latest,
  });
  return { status, revisions, latest, base };
}

type DriftOutcome = Pick<ReleaseFindings, "drift" | "driftError">;

/** Releases Helm has uninstalled have nothing that should be live. */
const NO_DRIFT_STATUSES = new Set(["uninstalled", "uninstalling"]);

interface DriftResult {
  readonly outcomes: ReadonlyMap<string, DriftOutcome>;
  /** Helm-labelled objects the per-kind lists returned, for leftover detection. */
  readonly listed: readonly ClusterObject[];
  /** Every kind was read: what the memos hold that this scan did not use is truly unused. */
  readonly complete: boolean;
}

async function collectDrift(
  context: ScanContext,
  histories: readonly ReleaseHistory[],
  errors: string[],
): Promise<DriftResult> {
  const outcomes = new Map<string, DriftOutcome>();
  const bases: { history: ReleaseHistory; base: RevisionRef; record: ReleaseRecord }[] = [];
  await context.discovery.ensureFresh(context.signal);
  for (const history of histories) {
    if (NO_DRIFT_STATUSES.has(history.status.status)) continue;
    const { ref: base, result: decoded } = history.base;
    if (decoded.ok) bases.push({ history, base, record: decoded.record });
    else {
      outcomes.set(releaseKey(history.status), {
        driftError: `revision ${String(base.revision)} is unreadable (${decoded.reason}): ${decoded.message}`,
      });
    }
  }
  const allObjects = bases.flatMap(({ record }) => record.manifest);
  await context.discovery.ensureKnown(allObjects, context.signal);
  const namespaced = (apiVersion: string, kind: string) =>
    context.discovery.resolve(apiVersion, kind)?.namespaced;
  // Which revisions declare each object: its outcome is memoized per revision.
  const declarations = new Map<
    string,
    { base: RevisionRef; record: ReleaseRecord; object: ManifestObject }[]
  >();
  const refs = bases.flatMap(({ base, record }) =>
    record.manifest.map((object) => {
      const ref = resourceRef(object, record.namespace, namespaced(object.apiVersion, object.kind));
      const declared = declarations.get(refKey(ref)) ?? [];
      declared.push({ base, record, object });
      declarations.set(refKey(ref), declared);
      return ref;
    }),
  );
  const hpaTargets = await readHpaTargets(
    context.collections,
    context.scope,
    allObjectsWithNamespace(bases),
    context.signal,
  );
  const scaled = (ref: ResourceRef) => scaledByHpa(context.driftOptions, hpaTargets, ref);
  const driftInput = (
    base: RevisionRef,
    record: ReleaseRecord,
    objects: readonly ManifestObject[],
    lookup: DriftInput["lookup"],
  ): DriftInput => ({
    release: record.name,
    namespace: record.namespace,
    baseRevision: base.revision,
    // As the record says: a label may be wrong.
    baseIsDeployed: record.status === "deployed",
    objects,
    namespaced,
    lookup,
    hpaTargets,
    options: context.driftOptions,
    memo: context.driftCache,
    revisionVersion: objectVersion(base),
  });
  const live = await readLiveObjects(
    context.collections,
    context.discovery,
    context.scope,
    refs,
    context.driftOptions.helmManagers,
    (ref, version) =>
      (declarations.get(refKey(ref)) ?? []).some(
        ({ base }) => !context.driftCache.has(objectMemoKey(objectVersion(base), ref, version, scaled(ref))),
      ),
    // Each kind is compared as it arrives, which files its objects' outcomes in the memo; the
    // per-release analysis below then reads them from there.
    (kindRefs, lookup) => {
      for (const ref of kindRefs)
        for (const { base, record, object } of declarations.get(refKey(ref)) ?? [])
          analyzeDrift(driftInput(base, record, [object], lookup));
    },
    context.concurrency,
    context.signal,
  );
  for (const error of live.kindErrors) {
    if (error.reason === "error") errors.push(`cannot read ${error.kind}: ${error.message}`);
  }

  const now = new Date();
  const reports: { key: string; report: DriftReport }[] = [];
  for (const [index, { history, base, record }] of bases.entries()) {
    if (index % 50 === 49) await yieldToEventLoop();
    reports.push({
      key: releaseKey(history.status),
      report: analyzeDrift(driftInput(base, record, record.manifest, live.lookup)),
    });
  }
  // Drift the cluster keeps no date for (a deleted object) is dated from when this process first saw it.
  const undated = reports.flatMap(({ key, report }) =>
    report.resources
      .filter((resource) => resource.state !== "unchecked" && !resource.since)
      .map((resource) => memoryKey(key, resource)),
  );
  const complete = errors.length === 0;
  // A drift not seen because a kind could not be read is not gone: its first-seen date is kept.
  const firstSeen = context.driftMemory.record(undated, now, { forgetUnseen: complete });
  for (const { key, report } of reports)
    outcomes.set(key, { drift: dateDrift(report, (resource) => firstSeen(memoryKey(key, resource))) });
  return { outcomes, listed: live.listed, complete };
}

async function collectHooks(
  context: ScanContext,
  seen: ReleasesSeen,
  releaseObjects: readonly ClusterObject[],
  errors: string[],
) {
  const namespaced = (apiVersion: string, kind: string) =>
    context.discovery.resolve(apiVersion, kind)?.namespaced;
  const releases = seen.histories.map((history) => {
    const records = [history.latest, history.base.result].flatMap((result) =>
      result.ok ? [result.record] : [],
    );
    const base = history.base.result.ok ? history.base.result.record : undefined;
    return {
      namespace: history.status.namespace,
      release: history.status.release,
      records,
      manifest: (base?.manifest ?? []).map((object) =>
        resourceRef(object, history.status.namespace, namespaced(object.apiVersion, object.kind)),
      ),
    };
  });
  const hookKinds = [
    ...DEFAULT_HOOK_KINDS,
    ...releases.flatMap(({ records }) =>
      records.flatMap((record) =>
        record.hooks.flatMap((hook) =>
          hook.apiVersion ? [{ apiVersion: hook.apiVersion, kind: hook.kind }] : [],
        ),
      ),
    ),
  ];
  const hookObjects = await readHookObjects(
    context.collections,
    context.discovery,
    context.scope,
    hookKinds,
    context.concurrency,
    context.signal,
  );
  errors.push(...hookObjects.errors);
  // Objects of a release this scan could not see are neither its leftovers nor a gone release's:
  // that release is unknown. The same for hooks in namespaces whose storage was not listed.
  const unknown = (namespace: string, release: string) =>
    !listedNamespace(seen.listing, namespace) || seen.unfetched.has(releaseKey({ namespace, release }));
  return analyzeHooks({
    releases,
    hookObjects: hookObjects.objects.filter(
      (object) => object.namespace === undefined || listedNamespace(seen.listing, object.namespace),
    ),
    // Cluster-scoped objects come from cluster-wide lists: keep those of releases this scan covers,
    // or a release in another namespace would look gone.
    releaseObjects: uniqueObjects([...releaseObjects, ...hookObjects.releaseObjects]).filter((object) => {
      const namespace = object.annotations[RELEASE_NAMESPACE_ANNOTATION];
      const release = object.annotations[RELEASE_NAME_ANNOTATION];
      return (
        release !== undefined &&
        namespace !== undefined &&
        inScope(context.scope, namespace) &&
        !unknown(namespace, release)
      );
    }),
    now: new Date(),
    terminatingAfterMs: context.terminatingAfterMs,
  });
}

function memoryKey(release: string, resource: ResourceDrift): string {
  return `${release}|${resource.state}|${refKey(resource.resource)}`;
}

function dateDrift(report: DriftReport, firstSeen: (resource: ResourceDrift) => Date): DriftReport {
  return {
    ...report,
    resources: report.resources.map((resource) =>
      resource.state === "unchecked" || resource.since
        ? resource
        : { ...resource, since: firstSeen(resource) },
    ),
  };
}

function allObjectsWithNamespace(
  bases: readonly { record: ReleaseRecord }[],
): { object: ManifestObject; namespace: string }[] {
  return bases.flatMap(({ record }) =>
    record.manifest.map((object) => ({ object, namespace: object.namespace ?? record.namespace })),
  );
}

function uniqueObjects(objects: readonly ClusterObject[]): ClusterObject[] {
  const byKey = new Map(objects.map((object) => [objectRefKey(object), object]));
  return [...byKey.values()];
}

function newest(revisions: readonly RevisionRef[]): RevisionRef {
  return revisions.reduce((a, b) => (b.revision > a.revision ? b : a));
}

/** Groups revisions by release. A release stored by both drivers keeps the newer history. */
function groupReleases(revisions: readonly RevisionRef[], logger: Logger): RevisionRef[][] {
  const byStorage = new Map<string, RevisionRef[]>();
  for (const ref of revisions) {
    const key = `${ref.storage}/${releaseKey(ref)}`;
    const group = byStorage.get(key);
    if (group) group.push(ref);
    else byStorage.set(key, [ref]);
  }
  const byRelease = new Map<string, RevisionRef[]>();
  for (const group of byStorage.values()) {
    const first = group[0];
    if (!first) continue;
    const key = releaseKey(first);
    const other = byRelease.get(key);
    if (other) {
      logger.warn(
        { namespace: first.namespace, release: first.release },
        "release is stored by both the secret and configmap drivers; reporting the newer history",
      );
      if (newest(group).revision <= newest(other).revision) continue;
    }
    byRelease.set(key, group);
  }
  return [...byRelease.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, group]) => group);
}
