/**
 * One scan: read the cluster, analyse purely, return an immutable snapshot. Each
 * concern is a collector with its own success and duration, as in node_exporter.
 */
import { RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION } from "../analysis/drift/compare.ts";
import {
  analyzeDrift,
  objectMemoKey,
  resourceRef,
  scaledByHpa,
  type ResourceRef,
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
import { analyzeHooks, HOOK_ANNOTATION, type ClusterObject } from "../analysis/hooks.ts";
import { DEFAULT_HOOK_KINDS, readHookObjects } from "../read/hook-objects.ts";
import { readHpaTargets } from "../read/hpa.ts";
import { readLiveObjects, refKey } from "../read/live-objects.ts";
import { inScope, type NamespaceScope } from "../read/namespaces.ts";
import { listRevisions, type RevisionReader, type RevisionRef } from "../read/release-storage.ts";
import type { DriftCache } from "./drift-cache.ts";
import type { DriftMemory } from "./drift-memory.ts";
import { mapLimit, yieldToEventLoop } from "./pool.ts";
import {
  freezeSnapshot,
  releaseKey,
  type CollectorResult,
  type ReleaseReport,
  type Snapshot,
} from "./snapshot.ts";

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
  /** Deletion older than this, with finalizers left, counts as stuck. */
  readonly terminatingAfterMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

interface ReleaseHistory {
  readonly status: StatusReport;
  readonly revisions: readonly RevisionRef[];
}

export async function scan(context: ScanContext): Promise<Snapshot> {
  const startedAt = new Date();
  const collectors: CollectorResult[] = [];
  const { logger } = context;
  const histories =
    (await collect("releases", collectors, logger, (errors) => collectReleases(context, errors))) ?? [];
  const drift = await collect("drift", collectors, logger, (errors) =>
    collectDrift(context, histories, errors),
  );
  const hooks = await collect("hooks", collectors, logger, (errors) =>
    collectHooks(context, histories, drift?.listed ?? [], errors),
  );
  // What this scan did not read (a kind no release uses any more) stops being watched and remembered.
  context.collections.sweep();
  const memo = context.driftCache.sweep();
  logger.debug({ driftMemoHits: memo.hits, driftMemoMisses: memo.misses }, "drift memo");
  const known = new Set(histories.map(({ status }) => releaseKey(status)));
  const releases: ReleaseReport[] = histories.map(({ status }) => {
    const hookReport = hooks?.byRelease.get(releaseKey(status));
    return {
      ...status,
      ...drift?.outcomes.get(releaseKey(status)),
      ...(hookReport && { hooks: hookReport }),
    };
  });
  const goneReleases = [...(hooks?.byRelease.entries() ?? [])]
    .filter(([key]) => !known.has(key))
    .map(([key, report]) => {
      const [namespace = "", release = ""] = key.split("/");
      return { namespace, release, leftovers: report.leftovers };
    });
  const finishedAt = new Date();
  return freezeSnapshot({
    startedAt,
    finishedAt,
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    success: collectors.every((collector) => collector.success),
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

/** Runs one collector; errors it reports (or throws) mark it failed without stopping the scan. */
async function collect<T>(
  name: string,
  results: CollectorResult[],
  logger: Logger,
  run: (errors: string[]) => Promise<T>,
): Promise<T | undefined> {
  const started = performance.now();
  const errors: string[] = [];
  let value: T | undefined;
  try {
    value = await run(errors);
  } catch (error) {
    errors.push(error instanceof Error ? error.message : String(error));
  }
  const durationSeconds = (performance.now() - started) / 1000;
  for (const message of errors) logger.error({ collector: name }, message);
  results.push({ name, success: errors.length === 0, durationSeconds, errors });
  return value;
}

async function collectReleases(context: ScanContext, errors: string[]): Promise<ReleaseHistory[]> {
  const listing = await listRevisions(context.collections, context.scope, context.signal);
  for (const error of listing.errors) {
    errors.push(`cannot list ${error.storage} release storage at ${error.path}: ${error.message}`);
  }
  // Records of revisions gone since the last scan are forgotten; only a complete listing says what is gone.
  if (listing.errors.length === 0) context.reader.retain(listing.revisions);
  const histories = groupReleases(listing.revisions, context.logger);
  const reports = await mapLimit(histories, context.concurrency, async (revisions) => {
    const latest = newest(revisions);
    const decoded = await context.reader.read(latest, context.signal);
    const status = analyzeStatus({
      namespace: latest.namespace,
      release: latest.release,
      storage: latest.storage,
      revisions,
      latest: decoded,
    });
    if (status.unreadable) {
      context.logger.warn(
        {
          namespace: status.namespace,
          release: status.release,
          revision: status.unreadable.revision,
          reason: status.unreadable.reason,
        },
        `release record unreadable: ${status.unreadable.message}`,
      );
    }
    return { status, revisions };
  });
  return reports;
}

type DriftOutcome = Pick<ReleaseReport, "drift" | "driftError">;

/** Releases Helm has uninstalled have nothing that should be live. */
const NO_DRIFT_STATUSES = new Set(["uninstalled", "uninstalling"]);

interface DriftResult {
  readonly outcomes: ReadonlyMap<string, DriftOutcome>;
  /** Helm-labelled objects the per-kind lists returned, for leftover detection. */
  readonly listed: readonly ClusterObject[];
}

async function collectDrift(
  context: ScanContext,
  histories: readonly ReleaseHistory[],
  errors: string[],
): Promise<DriftResult> {
  const outcomes = new Map<string, DriftOutcome>();
  const bases: { history: ReleaseHistory; base: RevisionRef; record: ReleaseRecord }[] = [];
  await context.discovery.ensureFresh(context.signal);
  await mapLimit(histories, context.concurrency, async (history) => {
    if (NO_DRIFT_STATUSES.has(history.status.status)) return;
    // The revision Helm believes is live: the newest deployed one, else the latest.
    const base = baseRevision(history);
    const decoded = await context.reader.read(base, context.signal);
    if (decoded.ok) bases.push({ history, base, record: decoded.record });
    else {
      outcomes.set(releaseKey(history.status), {
        driftError: `revision ${String(base.revision)} is unreadable (${decoded.reason}): ${decoded.message}`,
      });
    }
  });
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
    baseIsDeployed: base.status === "deployed",
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
  const firstSeen = context.driftMemory.sweep(undated, now);
  for (const { key, report } of reports)
    outcomes.set(key, { drift: dateDrift(report, (resource) => firstSeen(memoryKey(key, resource))) });
  return { outcomes, listed: live.listed };
}

/** The revisions an analysis reads: the latest and the one Helm believes is live. */
function baseRevision(history: ReleaseHistory): RevisionRef {
  const deployed = history.revisions.filter((ref) => ref.status === "deployed");
  return deployed.length > 0 ? newest(deployed) : newest(history.revisions);
}

async function collectHooks(
  context: ScanContext,
  histories: readonly ReleaseHistory[],
  releaseObjects: readonly ClusterObject[],
  errors: string[],
) {
  const releases = await mapLimit(histories, context.concurrency, async (history) => {
    const refs = [newest(history.revisions), baseRevision(history)];
    const decoded = await Promise.all(refs.map((ref) => context.reader.read(ref, context.signal)));
    const records = decoded.flatMap((result) => (result.ok ? [result.record] : []));
    const base = records.find((record) => record.revision === baseRevision(history).revision);
    const namespaced = (apiVersion: string, kind: string) =>
      context.discovery.resolve(apiVersion, kind)?.namespaced;
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
  return analyzeHooks({
    releases,
    hookObjects: hookObjects.objects,
    // Cluster-scoped objects come from cluster-wide lists: keep those of releases this scan covers,
    // or a release in another namespace would look gone.
    releaseObjects: uniqueObjects([...releaseObjects, ...hookObjects.releaseObjects]).filter((object) => {
      const namespace = object.annotations[RELEASE_NAMESPACE_ANNOTATION];
      return (
        object.annotations[RELEASE_NAME_ANNOTATION] !== undefined &&
        namespace !== undefined &&
        inScope(context.scope, namespace)
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
  const byKey = new Map(
    objects.map((object) => [`${object.kind}/${object.namespace ?? ""}/${object.name}`, object]),
  );
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
