/**
 * Renders a snapshot as Prometheus text once per scan; scrapes reuse the text, so a
 * scrape costs the same whatever the number of releases and never touches the cluster.
 */
import { yieldToEventLoop } from "../util/pool.ts";
import { Gauge, Registry } from "prom-client";
import { UNCHECKED_REASONS, type DriftReport } from "../analysis/drift/drift.ts";
import { IGNORE_REASONS } from "../analysis/drift/ignore.ts";
import type { DriftSummary } from "../report/drift-summary.ts";
import { RELEASE_STATUSES } from "../helm/release.ts";
import {
  LEFTOVER_REASONS,
  ORPHAN_REASONS,
  RUNNING_HOOK_STATES,
  type HooksReport,
  type Leftover,
} from "../analysis/hooks.ts";
import {
  ROLLBACK_BLOCKER_REASONS,
  UPGRADE_BLOCKER_REASONS,
  type ReadinessReport,
} from "../analysis/rollback/types.ts";
import type { Snapshot } from "../report/snapshot.ts";
import {
  NAMESPACE_METRICS as N,
  RELEASE_METRICS as R,
  SCAN_METRICS as S,
  type MetricDefinition,
} from "./catalog.ts";

function gauge(registry: Registry, definition: MetricDefinition): Gauge {
  return new Gauge({
    name: definition.name,
    help: definition.help,
    labelNames: definition.labels,
    registers: [registry],
  });
}

const seconds = (date: Date): number => date.getTime() / 1000;

/** Keeps the manager label bounded: the busiest managers by name, the rest summed as "other". */
export const MAX_MANAGERS_PER_RELEASE = 10;

function boundedManagers(managers: ReadonlyMap<string, number>): Map<string, number> {
  const sorted = [...managers.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const bounded = new Map(sorted.slice(0, MAX_MANAGERS_PER_RELEASE));
  const rest = sorted.slice(MAX_MANAGERS_PER_RELEASE).reduce((sum, [, count]) => sum + count, 0);
  if (rest > 0) bounded.set("other", rest);
  return bounded;
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

type ReleaseLabels = Record<"namespace" | "release", string>;

function setHooks(g: ReleaseGauges, release: ReleaseLabels, hooks: HooksReport): void {
  const orphaned = countBy(hooks.orphaned, (hook) => hook.reason);
  for (const reason of ORPHAN_REASONS) g.orphanedHooks.set({ ...release, reason }, orphaned.get(reason) ?? 0);
  const running = countBy(hooks.running, (hook) => hook.state);
  for (const state of RUNNING_HOOK_STATES) g.runningHooks.set({ ...release, state }, running.get(state) ?? 0);
  const starts = hooks.running.flatMap((hook) => (hook.startedAt ? [hook.startedAt.getTime()] : []));
  if (starts.length > 0) g.runningHookStarted.set(release, Math.min(...starts) / 1000);
  setLeftovers(g, release, hooks.leftovers);
  g.terminating.set(release, hooks.terminating.length);
}

function setLeftovers(g: ReleaseGauges, release: ReleaseLabels, leftovers: readonly Leftover[]): void {
  const counts = countBy(leftovers, (leftover) => leftover.reason);
  for (const reason of LEFTOVER_REASONS) g.leftovers.set({ ...release, reason }, counts.get(reason) ?? 0);
}

/** Every reason's series is present (bounded: nine and three per release), so a count of 0 is an answer. */
function setReadiness(g: ReleaseGauges, release: ReleaseLabels, readiness: ReadinessReport): void {
  const { rollback, upgrade } = readiness;
  g.rollbackReady.set(release, rollback.ready ? 1 : 0);
  const blockers = countBy(rollback.blockers, (blocker) => blocker.reason);
  for (const reason of ROLLBACK_BLOCKER_REASONS)
    g.rollbackBlockers.set({ ...release, reason }, blockers.get(reason) ?? 0);
  if (rollback.targetRevision !== undefined) g.rollbackTarget.set(release, rollback.targetRevision);
  g.rollbackReverted.set(release, rollback.reverted.length);
  const upgradeReasons = new Set(upgrade.blockers.map((blocker) => blocker.reason));
  for (const reason of UPGRADE_BLOCKER_REASONS)
    g.upgradeBlocked.set({ ...release, reason }, upgradeReasons.has(reason) ? 1 : 0);
  g.unservedApiRevisions.set(release, readiness.unservedApiRevisions.length);
}

function setDrift(
  g: ReleaseGauges,
  release: { namespace: string; release: string },
  drift: DriftReport,
  summary: DriftSummary,
): void {
  g.managedResources.set(release, drift.managedResources);
  g.driftedResources.set({ ...release, reason: "modified" }, summary.modified);
  g.driftedResources.set({ ...release, reason: "added" }, summary.added);
  g.driftedResources.set({ ...release, reason: "missing" }, summary.missing);
  g.driftedFields.set(release, summary.driftedFields);
  for (const reason of UNCHECKED_REASONS)
    g.uncheckedResources.set({ ...release, reason }, summary.unchecked[reason]);
  if (summary.since && summary.drifted > 0) g.driftSince.set(release, seconds(summary.since));
  for (const [manager, count] of boundedManagers(summary.managers))
    g.driftManager.set({ ...release, manager }, count);
  for (const reason of IGNORE_REASONS) g.ignoredDrift.set({ ...release, reason }, drift.ignored[reason]);
  g.driftBase.set({ ...release, base: drift.baseIsDeployed ? "deployed" : "latest" }, drift.baseRevision);
}

function releaseGauges(registry: Registry) {
  return {
    info: gauge(registry, R.info),
    status: gauge(registry, R.status),
    revision: gauge(registry, R.revision),
    deployedRevision: gauge(registry, R.deployedRevision),
    revisions: gauge(registry, R.revisions),
    failedRevisions: gauge(registry, R.failedRevisions),
    lastDeployed: gauge(registry, R.lastDeployed),
    unreadable: gauge(registry, R.unreadable),
    managedResources: gauge(registry, R.managedResources),
    driftedResources: gauge(registry, R.driftedResources),
    driftedFields: gauge(registry, R.driftedFields),
    uncheckedResources: gauge(registry, R.uncheckedResources),
    driftSince: gauge(registry, R.driftSince),
    driftManager: gauge(registry, R.driftManager),
    ignoredDrift: gauge(registry, R.ignoredDrift),
    driftBase: gauge(registry, R.driftBaseRevision),
    orphanedHooks: gauge(registry, R.orphanedHooks),
    runningHooks: gauge(registry, R.runningHooks),
    runningHookStarted: gauge(registry, R.runningHookStarted),
    leftovers: gauge(registry, R.leftoverResources),
    terminating: gauge(registry, R.terminatingResources),
    rollbackReady: gauge(registry, R.rollbackReady),
    rollbackBlockers: gauge(registry, R.rollbackBlockers),
    rollbackTarget: gauge(registry, R.rollbackTargetRevision),
    rollbackReverted: gauge(registry, R.rollbackRevertedFields),
    upgradeBlocked: gauge(registry, R.upgradeBlocked),
    unservedApiRevisions: gauge(registry, R.unservedApiRevisions),
  };
}
type ReleaseGauges = ReturnType<typeof releaseGauges>;

/** `hidden`: metrics left out of the text (--metric-allowlist, --metric-denylist). */
export async function renderSnapshot(
  snapshot: Snapshot,
  hidden: ReadonlySet<string> = new Set(),
): Promise<string> {
  const registry = new Registry();
  const g = releaseGauges(registry);
  for (const [index, report] of snapshot.releases.entries()) {
    if (index % 100 === 99) await yieldToEventLoop();
    const release = { namespace: report.namespace, release: report.release };
    if (report.chart) {
      g.info.set(
        {
          ...release,
          chart: report.chart.name,
          chart_version: report.chart.version,
          app_version: report.chart.appVersion,
          storage: report.storage,
        },
        1,
      );
    }
    for (const status of RELEASE_STATUSES)
      g.status.set({ ...release, status }, report.status === status ? 1 : 0);
    g.revision.set(release, report.revision);
    if (report.deployedRevision !== undefined) g.deployedRevision.set(release, report.deployedRevision);
    g.revisions.set(release, report.revisions);
    g.failedRevisions.set(release, report.failedRevisions);
    if (report.lastDeployed) g.lastDeployed.set(release, seconds(report.lastDeployed));
    if (report.unreadable) g.unreadable.set({ ...release, reason: report.unreadable.reason }, 1);
    if (report.drift && report.driftSummary) setDrift(g, release, report.drift, report.driftSummary);
    if (report.hooks) setHooks(g, release, report.hooks);
    // Absent readiness is "not checked": no series, rather than a 0 that would read as blocked.
    if (report.readiness) setReadiness(g, release, report.readiness);
  }
  for (const gone of snapshot.goneReleases) {
    setLeftovers(g, { namespace: gone.namespace, release: gone.release }, gone.leftovers);
  }
  const unreferenced = gauge(registry, N.unreferencedHooks);
  for (const [namespace, count] of countBy(snapshot.unreferencedHooks, (hook) => hook.namespace ?? "")) {
    unreferenced.set({ namespace }, count);
  }

  gauge(registry, S.lastScanTimestamp).set(seconds(snapshot.finishedAt));
  gauge(registry, S.scanDuration).set(snapshot.durationSeconds);
  const stale = snapshot.releases.filter((report) => report.stale).length;
  gauge(registry, S.releases).set(snapshot.releases.length - stale);
  gauge(registry, S.staleReleases).set(stale);
  gauge(registry, S.dataAge).set(snapshot.dataAgeSeconds);
  const collectorSuccess = gauge(registry, S.collectorSuccess);
  const collectorDuration = gauge(registry, S.collectorDuration);
  for (const collector of snapshot.collectors) {
    collectorSuccess.set({ collector: collector.name }, collector.success ? 1 : 0);
    collectorDuration.set({ collector: collector.name }, collector.durationSeconds);
  }
  for (const name of hidden) registry.removeSingleMetric(name);
  return registry.metrics();
}
