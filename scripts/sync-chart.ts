/**
 * `npm run chart:sync`: copies the alert rules and dashboards into the chart, which can
 * only read files inside itself. alerts/ and grafana/ stay the one source of truth;
 * test/integration/chart.test.ts fails when the copies differ.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "../test/cluster/binaries.ts";

export const CHART = path.join(repoRoot, "charts/helm-drift-exporter");

/** [source, copy in the chart] for every file the chart carries. */
export function chartCopies(): [string, string][] {
  const rules = "helm-drift-exporter.rules.yaml";
  const dashboards = readdirSync(path.join(repoRoot, "grafana")).filter((file) => file.endsWith(".json"));
  return [
    [path.join(repoRoot, "alerts", rules), path.join(CHART, "files", rules)],
    ...dashboards.map((file): [string, string] => [
      path.join(repoRoot, "grafana", file),
      path.join(CHART, "files/dashboards", file),
    ]),
  ];
}

if (process.argv[1] === import.meta.filename) {
  rmSync(path.join(CHART, "files/dashboards"), { recursive: true, force: true });
  mkdirSync(path.join(CHART, "files/dashboards"), { recursive: true });
  for (const [source, copy] of chartCopies()) {
    copyFileSync(source, copy);
  }
}
