/**
 * Renders a snapshot as Prometheus text once per scan; scrapes reuse the text, so a
 * scrape costs the same whatever the number of releases and never touches the cluster.
 */
import { Gauge, Registry } from "prom-client";
import { RELEASE_STATUSES } from "../helm/release.ts";
import type { Snapshot } from "../scan/snapshot.ts";
import { RELEASE_METRICS as R, SCAN_METRICS as S, type MetricDefinition } from "./catalog.ts";

function gauge(registry: Registry, definition: MetricDefinition): Gauge {
  return new Gauge({
    name: definition.name,
    help: definition.help,
    labelNames: definition.labels,
    registers: [registry],
  });
}

const seconds = (date: Date): number => date.getTime() / 1000;

export async function renderSnapshot(snapshot: Snapshot): Promise<string> {
  const registry = new Registry();
  const g = {
    info: gauge(registry, R.info),
    status: gauge(registry, R.status),
    revision: gauge(registry, R.revision),
    deployedRevision: gauge(registry, R.deployedRevision),
    revisions: gauge(registry, R.revisions),
    failedRevisions: gauge(registry, R.failedRevisions),
    lastDeployed: gauge(registry, R.lastDeployed),
    unreadable: gauge(registry, R.unreadable),
  };
  for (const report of snapshot.releases) {
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
  }

  gauge(registry, S.lastScanTimestamp).set(seconds(snapshot.finishedAt));
  gauge(registry, S.scanDuration).set(snapshot.durationSeconds);
  gauge(registry, S.releases).set(snapshot.releases.length);
  const collectorSuccess = gauge(registry, S.collectorSuccess);
  const collectorDuration = gauge(registry, S.collectorDuration);
  for (const collector of snapshot.collectors) {
    collectorSuccess.set({ collector: collector.name }, collector.success ? 1 : 0);
    collectorDuration.set({ collector: collector.name }, collector.durationSeconds);
  }
  return registry.metrics();
}
