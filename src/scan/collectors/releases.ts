/**
 * The releases collector: lists release storage (metadata-only), and reads each release's
 * latest record and the one Helm believes is live. Where a record is read, it wins over its
 * storage label. A record that cannot be fetched leaves its release unknown this scan, never
 * unreadable.
 */
import { analyzeStatus, type RecordRead } from "../../analysis/status.ts";
import type { DecodeResult } from "../../helm/decode.ts";
import type { Logger } from "../../log/logger.ts";
import { releaseKey } from "../../model/refs.ts";
import {
  FetchError,
  listRevisions,
  type RevisionRef,
  type StorageListing,
} from "../../read/release-storage.ts";
import { releaseScope, selectedNamespaces, type ReleaseScope } from "../../read/release-scope.ts";
import { errorMessage } from "../../util/errors.ts";
import { groupBy } from "../../util/group-by.ts";
import { mapLimit } from "../../util/pool.ts";
import type { Collector } from "../collector.ts";
import type { ScanContext } from "../context.ts";
import type { ReleaseHistory, ReleasesSeen } from "../findings.ts";

export const releasesCollector: Collector = {
  name: "releases",
  run: async (context, _found, errors) => ({ releases: await collectReleases(context, errors) }),
};

async function collectReleases(context: ScanContext, errors: string[]): Promise<ReleasesSeen> {
  const { listing, scope } = await listInScope(context);
  for (const error of listing.errors) {
    errors.push(`cannot list ${error.storage} release storage at ${error.path}: ${error.message}`);
  }
  // Records of revisions gone since the last scan are forgotten; only a complete listing says what is gone.
  if (listing.errors.length === 0) context.reader.retain(listing.revisions);
  // This scan reads every revision in scope: the latest and the base here, the rollback target
  // and the older ones' API kinds in the rollback collector. Many unknown ones are listed at once.
  await context.reader.prefetch(listing.revisions, context.signal);
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
  return { histories: histories.filter((history) => history !== undefined), listing, scope, unfetched };
}

/**
 * The revisions of the releases in scope. Storage is listed whole (metadata-only), then what is
 * out of scope is dropped before any record is read. A selector that cannot be evaluated leaves
 * the scope unknown: as if no storage could be listed, so releases are served stale, never gone.
 */
async function listInScope(context: ScanContext): Promise<{ listing: StorageListing; scope: ReleaseScope }> {
  const { collections, releaseFilter, signal, focus } = context;
  const listing = await listRevisions(collections, context.scope, signal, focus?.release);
  let selected: ReadonlySet<string> | undefined;
  if (releaseFilter.namespaceSelector !== undefined) {
    try {
      selected = await selectedNamespaces(
        collections,
        context.client,
        context.scope,
        releaseFilter.namespaceSelector,
        signal,
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      const failed = { storage: "secret" as const, path: "/api/v1/namespaces", message: errorMessage(error) };
      return {
        listing: { revisions: [], errors: [...listing.errors, failed] },
        scope: { includes: () => false, judgesHooksIn: () => false },
      };
    }
  }
  const filtered = releaseScope(releaseFilter, selected, listing.revisions);
  // A focused scan (diagnose) lists one release's records: the others of its namespace are not
  // seen, so no hook there can be judged unreferenced.
  const scope: ReleaseScope = focus ? { ...filtered, judgesHooksIn: () => false } : filtered;
  const revisions = listing.revisions.filter((ref) => scope.includes(ref.namespace, ref.release));
  return { listing: { ...listing, revisions }, scope };
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
  const records = context.focus ? await readEveryRecord(context, labelled, statuses) : undefined;
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
    ...(records && { records }),
  });
  return { status, revisions, latest, base };
}

/**
 * Every revision's record, for a release looked at alone (`diagnose`), as `helm history` reads
 * them: what each revision deployed and, when it failed, why. The reader keeps them, so the
 * rollback collector does not fetch them again. One that cannot be fetched is said, not fatal.
 */
async function readEveryRecord(
  context: ScanContext,
  labelled: readonly RevisionRef[],
  statuses: Map<number, RevisionRef["status"]>,
): Promise<ReadonlyMap<number, RecordRead>> {
  const records = new Map<number, RecordRead>();
  await mapLimit([...labelled], context.concurrency, async (ref) => {
    try {
      const result = await context.reader.read(ref, context.signal);
      records.set(ref.revision, result);
      if (result.ok) statuses.set(ref.revision, result.record.status);
    } catch (error) {
      if (!(error instanceof FetchError)) throw error;
      records.set(ref.revision, { ok: false, reason: "fetch", message: error.message });
    }
  });
  return records;
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

function newest(revisions: readonly RevisionRef[]): RevisionRef {
  return revisions.reduce((a, b) => (b.revision > a.revision ? b : a));
}

/** Groups revisions by release. A release stored by both drivers keeps the newer history. */
function groupReleases(revisions: readonly RevisionRef[], logger: Logger): RevisionRef[][] {
  const byStorage = groupBy(revisions, (ref) => `${ref.storage}/${releaseKey(ref)}`);
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
