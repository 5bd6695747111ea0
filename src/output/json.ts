/**
 * The JSON shape of `scan --output json` and of the HTTP API, documented in
 * docs/scan-output.md. Absent values are null, times are RFC 3339 strings.
 */
import type { DriftReport } from "../analysis/drift/drift.ts";
import type { DriftSummary } from "../report/drift-summary.ts";
import type { HooksReport } from "../analysis/hooks.ts";
import type { BlockedObject, RollbackReadiness, UpgradeReadiness } from "../analysis/rollback/types.ts";
import type { ReleaseReport, Snapshot } from "../report/snapshot.ts";

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
    needsAttention: report.attention.length > 0,
    unreadable: report.unreadable ?? null,
    drift: report.drift && report.driftSummary ? driftJson(report.drift, report.driftSummary) : null,
    driftError: report.driftError ?? null,
    hooks: report.hooks ? hooksJson(report.hooks) : null,
    // null: readiness was not checked (which says nothing either way), never "ready" or "none".
    rollback: report.readiness ? rollbackJson(report.readiness.rollback) : null,
    upgrade: report.readiness ? upgradeJson(report.readiness.upgrade) : null,
    unservedApiRevisions: report.readiness ? report.readiness.unservedApiRevisions : null,
    stale: report.stale ? { since: report.stale.since.toISOString(), reason: report.stale.reason } : null,
    history: report.history.map((entry) => ({
      revision: entry.revision,
      status: entry.status,
      updated: iso(entry.updated),
    })),
  };
}

const objectJson = (object: BlockedObject) => ({
  apiVersion: object.apiVersion,
  kind: object.kind,
  namespace: object.namespace ?? null,
  name: object.name,
});

function rollbackJson(rollback: RollbackReadiness) {
  return {
    targetRevision: rollback.targetRevision ?? null,
    targetStatus: rollback.targetStatus ?? null,
    applyMethod: rollback.applyMethod ?? null,
    ready: rollback.ready,
    blockers: rollback.blockers.map((blocker) => ({
      reason: blocker.reason,
      object: blocker.object ? objectJson(blocker.object) : null,
      message: blocker.message,
      note: blocker.note ?? null,
      leaves: blocker.leaves ?? null,
    })),
    reverted: rollback.reverted.map((field) => ({
      object: objectJson(field.object),
      path: field.path,
      managers: field.managers,
    })),
    takenOver: rollback.takenOver.map((taken) => ({ object: objectJson(taken.object), owner: taken.owner })),
  };
}

function upgradeJson(upgrade: UpgradeReadiness) {
  return {
    blocked: upgrade.blocked,
    reasons: upgrade.blockers.map((blocker) => ({
      reason: blocker.reason,
      message: blocker.message,
      since: iso(blocker.since),
    })),
  };
}

function hooksJson(hooks: HooksReport) {
  const ref = (object: { kind: string; namespace?: string; name: string }) => ({
    kind: object.kind,
    namespace: object.namespace ?? null,
    name: object.name,
  });
  return {
    orphaned: hooks.orphaned.map((hook) => ({
      ...ref(hook),
      reason: hook.reason,
      revision: hook.revision,
      deletePolicies: hook.deletePolicies,
    })),
    running: hooks.running.map((hook) => ({
      ...ref(hook),
      revision: hook.revision,
      events: hook.events,
      startedAt: iso(hook.startedAt),
      state: hook.state,
    })),
    leftovers: hooks.leftovers.map((leftover) => ({ ...ref(leftover), reason: leftover.reason })),
    terminating: hooks.terminating.map((stuck) => ({
      ...ref(stuck),
      deletionTimestamp: stuck.deletionTimestamp.toISOString(),
      finalizers: stuck.finalizers,
    })),
  };
}

function driftJson(drift: DriftReport, summary: DriftSummary) {
  return {
    baseRevision: drift.baseRevision,
    baseIsDeployed: drift.baseIsDeployed,
    managedResources: drift.managedResources,
    inSync: summary.inSync,
    modified: summary.modified,
    added: summary.added,
    missing: summary.missing,
    driftedFields: summary.driftedFields,
    unchecked: summary.unchecked,
    since: iso(summary.since),
    ignored: drift.ignored,
    resources: drift.resources.map((resource) => ({
      apiVersion: resource.resource.apiVersion,
      kind: resource.resource.kind,
      namespace: resource.resource.namespace ?? null,
      name: resource.resource.name,
      state: resource.state,
      uncheckedReason: resource.uncheckedReason ?? null,
      message: resource.message ?? null,
      since: iso(resource.since),
      managers: resource.managers.map((manager) => ({
        manager: manager.manager,
        operation: manager.operation,
        subresource: manager.subresource ?? null,
        time: iso(manager.time),
      })),
      fields: resource.fields.map((field) => ({
        path: field.path,
        change: field.change,
        declared: field.declared ?? null,
        live: field.live ?? null,
        managers: field.managers,
      })),
    })),
  };
}

/** The `scan` block: when, how long, how it went, each collector's result. */
export function scanBlockJson(snapshot: Snapshot) {
  return {
    startedAt: snapshot.startedAt.toISOString(),
    finishedAt: snapshot.finishedAt.toISOString(),
    durationSeconds: snapshot.durationSeconds,
    success: snapshot.success,
    outcome: snapshot.outcome,
    collectors: snapshot.collectors,
  };
}

/** What `scan --output json` prints and `/api/v1/releases` serves: one shape for both. */
export function toScanJson(snapshot: Snapshot) {
  const releases = snapshot.releases.map(toReleaseJson);
  return {
    schemaVersion: SCHEMA_VERSION,
    scan: scanBlockJson(snapshot),
    summary: summaryJson(releases),
    releases,
    ...strayFindingsJson(snapshot),
  };
}

export function summaryJson(releases: readonly { needsAttention: boolean; stale: unknown }[]) {
  return {
    releases: releases.length,
    needingAttention: releases.filter((release) => release.needsAttention).length,
    stale: releases.filter((release) => release.stale !== null).length,
  };
}

/** Findings of no existing release: hooks no record references, objects of releases that are gone. */
export function strayFindingsJson(snapshot: Snapshot) {
  return {
    unreferencedHooks: snapshot.unreferencedHooks.map((hook) => ({
      kind: hook.kind,
      namespace: hook.namespace ?? null,
      name: hook.name,
      hook: hook.hook,
    })),
    goneReleases: snapshot.goneReleases,
  };
}
