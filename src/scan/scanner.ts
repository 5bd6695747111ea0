/**
 * One scan: each collector in turn (collectors/), each with its own success and duration, as
 * in node_exporter; then what they found assembled into the finished snapshot (report/). A scan
 * changes what it remembers only once it has run to its end: an aborted one changes nothing.
 */
import { HOOK_ANNOTATION } from "../helm/vocabulary.ts";
import { releaseKey } from "../model/refs.ts";
import { listedNamespace } from "../read/release-storage.ts";
import {
  completeSnapshot,
  releaseReport,
  type CollectorResult,
  type ReleaseFindings,
  type Snapshot,
} from "../report/snapshot.ts";
import { errorMessage } from "../util/errors.ts";
import type { Collector } from "./collector.ts";
import type { LiveExaminer } from "./examiner.ts";
import { COLLECTORS } from "./collectors/index.ts";
import type { ScanContext } from "./context.ts";
import { NOTHING_SEEN, type Findings, type ReleasesSeen } from "./findings.ts";
import type { Unseen } from "./state/release-memory.ts";

export async function scan(context: ScanContext): Promise<Snapshot> {
  const startedAt = new Date();
  const results: CollectorResult[] = [];
  let found: Findings = { releases: NOTHING_SEEN };
  for (const [index, collector] of COLLECTORS.entries()) {
    found = { ...found, ...(await run(collector, context, found, results)) };
    // The first collector finds the releases; concerns that examine live objects can prepare then.
    if (index === 0) found = { ...found, examiners: await examiners(context, found) };
  }
  return assemble(context, found, results, startedAt);
}

/** Each later concern's examiner of live objects; one that cannot be made leaves its concern to fail. */
async function examiners(context: ScanContext, found: Findings): Promise<ReadonlyMap<string, LiveExaminer>> {
  const made = new Map<string, LiveExaminer>();
  for (const collector of COLLECTORS) {
    if (!collector.examiner) continue;
    try {
      made.set(collector.name, await collector.examiner(context, found));
    } catch (error) {
      if (context.signal?.aborted) throw context.signal.reason ?? error;
      context.logger.error({ collector: collector.name }, `cannot prepare: ${errorMessage(error)}`);
    }
  }
  return made;
}

/**
 * Runs one collector: errors it reports (or throws) mark it failed without stopping the scan.
 * An abort (the scan's timeout, or shutdown) is not a collector's failure: it ends the scan.
 */
async function run(
  collector: Collector,
  context: ScanContext,
  found: Findings,
  results: CollectorResult[],
): Promise<Partial<Findings>> {
  const started = performance.now();
  const errors: string[] = [];
  let added: Partial<Findings> = {};
  try {
    added = await collector.run(context, found, errors);
  } catch (error) {
    if (context.signal?.aborted) throw context.signal.reason ?? error;
    errors.push(errorMessage(error));
  }
  context.signal?.throwIfAborted();
  for (const message of errors) context.logger.error({ collector: collector.name }, message);
  results.push({
    name: collector.name,
    success: errors.length === 0,
    durationSeconds: (performance.now() - started) / 1000,
    errors,
  });
  return added;
}

/** What the collectors found, as the finished snapshot; and what scans remember, updated. */
function assemble(
  context: ScanContext,
  found: Findings,
  results: readonly CollectorResult[],
  startedAt: Date,
): Snapshot {
  const { releases: seen, drift, hooks, readiness } = found;
  const allSucceeded = results.every((result) => result.success);
  // What this scan did not read (a kind no release uses any more) stops being watched and
  // remembered; only a scan that read everything knows that.
  if (allSucceeded) context.collections.sweep();
  if (drift?.complete) {
    const memo = context.memory.outcomes.sweep();
    context.logger.debug({ driftMemoHits: memo.hits, driftMemoMisses: memo.misses }, "drift memo");
  }
  const known = new Set(seen.histories.map(({ status }) => releaseKey(status)));
  const fresh: ReleaseFindings[] = seen.histories.map(({ status }) => {
    const hookReport = hooks?.byRelease.get(releaseKey(status));
    const readinessReport = readiness?.byRelease.get(releaseKey(status));
    return {
      ...status,
      ...drift?.byRelease.get(releaseKey(status)),
      ...(hookReport && { hooks: hookReport }),
      ...(readinessReport && { readiness: readinessReport }),
    };
  });
  const finishedAt = new Date();
  const carried = context.memory.releases.carry(unseenReleases(seen), known);
  context.memory.releases.remember(fresh, finishedAt, (namespace: string, release: string) =>
    releaseIsGone(seen, known, namespace, release),
  );
  // Release storage that could not be listed: what exists is unknown, the scan failed.
  const storageListed = seen.listing.errors.length === 0 && results[0]?.success === true;
  return completeSnapshot({
    startedAt,
    finishedAt,
    outcome: !storageListed ? "failed" : allSucceeded ? "success" : "partial",
    dataAgeSeconds: dataAge(context, finishedAt),
    releases: [...fresh, ...carried]
      .sort((a, b) => releaseKey(a).localeCompare(releaseKey(b)))
      .map(releaseReport),
    unreferencedHooks: (hooks?.unreferenced ?? []).map(({ kind, namespace, name, annotations }) => ({
      kind,
      ...(namespace && { namespace }),
      name,
      hook: annotations[HOOK_ANNOTATION] ?? "",
    })),
    goneReleases: [...(hooks?.byRelease.entries() ?? [])]
      .filter(([key]) => !known.has(key))
      .map(([key, report]) => {
        const [namespace = "", release = ""] = key.split("/");
        return { namespace, release, leftovers: report.leftovers };
      }),
    collectors: results,
  });
}

/** How long before now the oldest collection the scan relied on was last heard from. */
function dataAge(context: ScanContext, now: Date): number {
  const heard = context.collections.states.flatMap((state) =>
    state.lastHeardAt === undefined ? [] : [state.lastHeardAt],
  );
  return heard.length > 0 ? Math.max(0, now.getTime() - Math.min(...heard)) / 1000 : 0;
}

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
