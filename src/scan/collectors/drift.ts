/**
 * The drift collector: each release's deployed manifest against the live cluster. Live objects
 * are read kind by kind (LiveObjectReader.kinds) and each kind is compared as it arrives, its
 * copies let go before the next; an object whose copy was dropped after an earlier comparison
 * is read again only when its outcome is not known (a new revision, an HPA that started or
 * stopped scaling it). Then each release's report is assembled from the filed outcomes.
 */
import {
  analyzeDrift,
  scaledByHpa,
  type DriftInput,
  type DriftReport,
  type LiveLookup,
  type ResourceDrift,
} from "../../analysis/drift/drift.ts";
import type { ManifestObject, ReleaseRecord } from "../../helm/release.ts";
import { objectVersion } from "../../kube/client.ts";
import { refKey, releaseKey, resourceRef, type ResourceRef } from "../../model/refs.ts";
import { readHpaTargets } from "../../read/hpa.ts";
import { LiveObjectReader } from "../../read/live-objects.ts";
import type { RevisionRef } from "../../read/release-storage.ts";
import type { ReleaseFindings } from "../../report/snapshot.ts";
import { yieldToEventLoop } from "../../util/event-loop.ts";
import type { Collector } from "../collector.ts";
import type { ScanContext } from "../context.ts";
import type { LiveExaminer } from "../examiner.ts";
import type { DriftFindings, ReleaseHistory } from "../findings.ts";

export const driftCollector: Collector = {
  name: "drift",
  run: async (context, found, errors) => ({
    drift: await collectDrift(
      context,
      found.releases.histories,
      [...(found.examiners?.values() ?? [])],
      errors,
    ),
  }),
};

/** Releases Helm has uninstalled have nothing that should be live. */
const NO_DRIFT_STATUSES = new Set(["uninstalled", "uninstalling"]);

/** A release whose base revision can be compared. */
interface Base {
  readonly history: ReleaseHistory;
  readonly ref: RevisionRef;
  readonly record: ReleaseRecord;
}

async function collectDrift(
  context: ScanContext,
  histories: readonly ReleaseHistory[],
  examiners: readonly LiveExaminer[],
  errors: string[],
): Promise<DriftFindings> {
  const byRelease = new Map<string, Pick<ReleaseFindings, "drift" | "driftError">>();
  const bases: Base[] = [];
  await context.discovery.ensureFresh(context.signal);
  for (const history of histories) {
    if (NO_DRIFT_STATUSES.has(history.status.status)) continue;
    const { ref, result } = history.base;
    if (result.ok) bases.push({ history, ref, record: result.record });
    else
      byRelease.set(releaseKey(history.status), {
        driftError: `revision ${String(ref.revision)} is unreadable (${result.reason}): ${result.message}`,
      });
  }
  await context.discovery.ensureKnown(
    bases.flatMap(({ record }) => record.manifest),
    context.signal,
  );
  const comparison = await Comparison.prepare(context, bases);
  const reader = new LiveObjectReader({
    collections: context.collections,
    discovery: context.discovery,
    scope: context.scope,
    helmManagers: context.driftOptions.helmManagers,
    concurrency: context.concurrency,
    ...(context.signal && { signal: context.signal }),
  });
  const lookups = await comparison.compareAsRead(reader, examiners);
  for (const error of reader.kindErrors) {
    if (error.reason === "error") errors.push(`cannot read ${error.kind}: ${error.message}`);
  }

  const reports: { key: string; report: DriftReport }[] = [];
  for (const [index, base] of bases.entries()) {
    if (index % 50 === 49) await yieldToEventLoop();
    reports.push({
      key: releaseKey(base.history.status),
      report: analyzeDrift(comparison.input(base, base.record.manifest, lookups)),
    });
  }
  const complete = errors.length === 0;
  for (const { key, drift } of dateUndated(context, reports, complete)) byRelease.set(key, { drift });
  return { byRelease, listed: reader.listed, complete };
}

/** Which revisions declare each live object, and how to compare them: one scan's comparison. */
class Comparison {
  private readonly context: ScanContext;
  private readonly hpaTargets: ReadonlySet<string>;
  /** Every declared object, and which bases declare it: its outcome is memoized per revision. */
  readonly declarations: ReadonlyMap<string, readonly { base: Base; object: ManifestObject }[]>;
  readonly refs: readonly ResourceRef[];

  private constructor(context: ScanContext, bases: readonly Base[], hpaTargets: ReadonlySet<string>) {
    this.context = context;
    this.hpaTargets = hpaTargets;
    const declarations = new Map<string, { base: Base; object: ManifestObject }[]>();
    const refs: ResourceRef[] = [];
    for (const base of bases)
      for (const object of base.record.manifest) {
        const ref = resourceRef(
          object,
          base.record.namespace,
          this.namespaced(object.apiVersion, object.kind),
        );
        const declared = declarations.get(refKey(ref));
        if (declared) declared.push({ base, object });
        else declarations.set(refKey(ref), [{ base, object }]);
        refs.push(ref);
      }
    this.declarations = declarations;
    this.refs = refs;
  }

  static async prepare(context: ScanContext, bases: readonly Base[]): Promise<Comparison> {
    const declared = bases.flatMap(({ record }) =>
      record.manifest.map((object) => ({ object, namespace: object.namespace ?? record.namespace })),
    );
    const hpaTargets = await readHpaTargets(context.collections, context.scope, declared, context.signal);
    return new Comparison(context, bases, hpaTargets);
  }

  /**
   * Reads the live objects kind by kind, comparing each kind's copies as they arrive (which
   * files their outcomes) and showing them to the examiners that need them, then reads again
   * the objects whose outcome is not known to all that need them. Returns what the per-release
   * analysis looks up: every object found is then known to the memo.
   */
  async compareAsRead(
    reader: LiveObjectReader,
    examiners: readonly LiveExaminer[],
  ): Promise<ReadonlyMap<string, LiveLookup>> {
    const wanted = examiners.map((examiner) => ({ examiner, keys: new Set(examiner.refs().map(refKey)) }));
    const interested = (key: string) =>
      wanted.filter(({ keys }) => keys.has(key)).map(({ examiner }) => examiner);
    const see = (key: string, lookup: LiveLookup) => {
      if (lookup.state !== "found" || lookup.version === undefined) return;
      this.compare(key, lookup);
      const watchers = interested(key);
      if (watchers.length === 0) return;
      const object = lookup.object; // parsed once for all of them
      for (const examiner of watchers) examiner.examine(key, object, lookup.version);
    };
    const lookups = new Map<string, LiveLookup>();
    const unknown: ResourceRef[] = [];
    const refs = unionOf(this.refs, examiners);
    for await (const batch of reader.kinds([...refs.values()])) {
      for (const [key, lookup] of batch.lookups) {
        see(key, lookup);
        const ref = refs.get(key);
        if (ref && lookup.state === "known" && !this.allKnow(key, lookup.version, interested(key)))
          unknown.push(ref);
        lookups.set(key, settled(lookup));
      }
    }
    for (const [key, lookup] of await reader.read(unknown)) {
      see(key, lookup);
      lookups.set(key, settled(lookup));
    }
    for (const { examiner, keys } of wanted)
      for (const key of keys)
        examiner.settle(
          key,
          lookups.get(key) ?? { state: "unchecked", reason: "error", message: "object was not read" },
        );
    return lookups;
  }

  /** Whether the drift memo and every examiner that needs the object know its outcome at this version. */
  private allKnow(key: string, liveVersion: string, examiners: readonly LiveExaminer[]): boolean {
    return (
      this.outcomeKnown(key, liveVersion) && examiners.every((examiner) => examiner.knows(key, liveVersion))
    );
  }

  input(
    base: Base,
    objects: readonly ManifestObject[],
    lookups: ReadonlyMap<string, LiveLookup>,
  ): DriftInput {
    const { record, ref } = base;
    return {
      release: record.name,
      namespace: record.namespace,
      baseRevision: ref.revision,
      // As the record says: a label may be wrong.
      baseIsDeployed: record.status === "deployed",
      objects,
      namespaced: (apiVersion, kind) => this.namespaced(apiVersion, kind),
      lookup: (resource) =>
        lookups.get(refKey(resource)) ?? {
          state: "unchecked",
          reason: "error",
          message: "object was not read",
        },
      hpaTargets: this.hpaTargets,
      options: this.context.driftOptions,
      memo: this.context.memory.outcomes,
      revisionVersion: objectVersion(ref),
    };
  }

  /** Compares a live copy against every revision that declares it, which files the outcomes. */
  private compare(key: string, lookup: LiveLookup): void {
    for (const { base, object } of this.declarations.get(key) ?? [])
      analyzeDrift(this.input(base, [object], new Map([[key, lookup]])));
  }

  /** Whether every revision declaring the object has its outcome at this live version filed. */
  private outcomeKnown(key: string, liveVersion: string): boolean {
    return (this.declarations.get(key) ?? []).every(({ base, object }) => {
      const ref = resourceRef(object, base.record.namespace, this.namespaced(object.apiVersion, object.kind));
      return this.context.memory.outcomes.has({
        revisionVersion: objectVersion(base.ref),
        ref,
        liveVersion,
        scaledByHpa: scaledByHpa(this.context.driftOptions, this.hpaTargets, ref),
      });
    });
  }

  private namespaced(apiVersion: string, kind: string): boolean | undefined {
    return this.context.discovery.resolve(apiVersion, kind)?.namespaced;
  }
}

/** Every object drift compares and the examiners need, each once. */
function unionOf(refs: readonly ResourceRef[], examiners: readonly LiveExaminer[]): Map<string, ResourceRef> {
  const union = new Map(refs.map((ref) => [refKey(ref), ref]));
  for (const examiner of examiners)
    for (const ref of examiner.refs()) if (!union.has(refKey(ref))) union.set(refKey(ref), ref);
  return union;
}

/** A compared copy is known from then on: its text is let go, its outcome is filed. */
function settled(lookup: LiveLookup): LiveLookup {
  return lookup.state === "found" && lookup.version !== undefined
    ? { state: "known", version: lookup.version }
    : lookup;
}

/**
 * Drift the cluster keeps no date for (a deleted object) is dated from when this process first
 * saw it. A drift not seen because a kind could not be read is not gone: its date is kept.
 */
function dateUndated(
  context: ScanContext,
  reports: readonly { key: string; report: DriftReport }[],
  complete: boolean,
): { key: string; drift: DriftReport }[] {
  const memoryKey = (release: string, resource: ResourceDrift) =>
    `${release}|${resource.state}|${refKey(resource.resource)}`;
  const undated = reports.flatMap(({ key, report }) =>
    report.resources
      .filter((resource) => resource.state !== "unchecked" && !resource.since)
      .map((resource) => memoryKey(key, resource)),
  );
  const firstSeen = context.memory.firstSeen.record(undated, new Date(), { forgetUnseen: complete });
  return reports.map(({ key, report }) => ({
    key,
    drift: {
      ...report,
      resources: report.resources.map((resource) =>
        resource.state === "unchecked" || resource.since
          ? resource
          : { ...resource, since: firstSeen(memoryKey(key, resource)) },
      ),
    },
  }));
}
