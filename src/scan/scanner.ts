/**
 * One scan: read the cluster, analyse purely, return an immutable snapshot. Each
 * concern is a collector with its own success and duration, as in node_exporter.
 */
import { analyzeStatus, type StatusReport } from "../analysis/status.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Logger } from "../log/logger.ts";
import type { NamespaceScope } from "../read/namespaces.ts";
import { listRevisions, type RevisionReader, type RevisionRef } from "../read/release-storage.ts";
import { mapLimit } from "./pool.ts";
import { freezeSnapshot, releaseKey, type CollectorResult, type Snapshot } from "./snapshot.ts";

export interface ScanContext {
  readonly client: KubeClient;
  readonly reader: RevisionReader;
  readonly scope: NamespaceScope;
  readonly concurrency: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export async function scan(context: ScanContext): Promise<Snapshot> {
  const startedAt = new Date();
  const collectors: CollectorResult[] = [];
  const releases = await collect("releases", collectors, context.logger, (errors) =>
    collectReleases(context, errors),
  );
  const finishedAt = new Date();
  return freezeSnapshot({
    startedAt,
    finishedAt,
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    success: collectors.every((collector) => collector.success),
    releases: releases ?? [],
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

async function collectReleases(context: ScanContext, errors: string[]): Promise<StatusReport[]> {
  const listing = await listRevisions(context.client, context.scope, context.signal);
  for (const error of listing.errors)
    errors.push(`cannot list ${error.storage} release storage at ${error.path}: ${error.message}`);
  context.reader.retain(listing.revisions);
  const histories = groupReleases(listing.revisions, context.logger);
  return mapLimit(histories, context.concurrency, async (revisions) => {
    const latest = revisions.reduce((a, b) => (b.revision > a.revision ? b : a));
    const decoded = await context.reader.read(latest, context.signal);
    const report = analyzeStatus({
      namespace: latest.namespace,
      release: latest.release,
      storage: latest.storage,
      revisions,
      latest: decoded,
    });
    if (report.unreadable) {
      context.logger.warn(
        {
          namespace: report.namespace,
          release: report.release,
          revision: report.unreadable.revision,
          reason: report.unreadable.reason,
        },
        `release record unreadable: ${report.unreadable.message}`,
      );
    }
    return report;
  });
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
    if (other?.[0]) {
      const newest = (g: RevisionRef[]) => Math.max(...g.map((ref) => ref.revision));
      logger.warn(
        { namespace: first.namespace, release: first.release },
        "release is stored by both the secret and configmap drivers; reporting the newer history",
      );
      if (newest(group) <= newest(other)) continue;
    }
    byRelease.set(key, group);
  }
  return [...byRelease.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, group]) => group);
}
