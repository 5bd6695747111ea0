/**
 * The JSON shape of `scan --output json` and of the HTTP API, documented in
 * docs/scan-output.md. Absent values are null, times are RFC 3339 strings.
 */
import { needsAttention } from "../analysis/status.ts";
import type { ReleaseReport, Snapshot } from "../scan/snapshot.ts";

export const SCHEMA_VERSION = 1;

const iso = (date: Date | undefined): string | null => date?.toISOString() ?? null;

export function toReleaseJson(report: ReleaseReport) {
  return {
    namespace: report.namespace,
    release: report.release,
    storage: report.storage,
    chart: report.chart ?? null,
    status: report.status,
    description: report.description ?? null,
    revision: report.revision,
    deployedRevision: report.deployedRevision ?? null,
    revisions: report.revisions,
    failedRevisions: report.failedRevisions,
    lastDeployed: iso(report.lastDeployed),
    applyMethod: report.applyMethod ?? null,
    needsAttention: needsAttention(report),
    unreadable: report.unreadable ?? null,
    history: report.history.map((entry) => ({
      revision: entry.revision,
      status: entry.status,
      updated: iso(entry.updated),
    })),
  };
}

export function toScanJson(snapshot: Snapshot) {
  const releases = snapshot.releases.map(toReleaseJson);
  return {
    schemaVersion: SCHEMA_VERSION,
    scan: {
      startedAt: snapshot.startedAt.toISOString(),
      finishedAt: snapshot.finishedAt.toISOString(),
      durationSeconds: snapshot.durationSeconds,
      success: snapshot.success,
      collectors: snapshot.collectors,
    },
    summary: {
      releases: releases.length,
      needingAttention: releases.filter((release) => release.needsAttention).length,
    },
    releases,
  };
}
