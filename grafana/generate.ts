/**
 * Writes the Grafana dashboards in grafana/*.json, one module per dashboard in dashboards/, built
 * from the shared pieces in lib/ so that every panel gets the same datasource, variables, filters
 * and layout rules.
 *
 *   node grafana/generate.ts           # rewrite grafana/*.json
 *   node grafana/generate.ts --check   # exit 1 when a file is out of date
 *
 * Metric names and labels are those of docs/metrics.md; grafana/dashboards.test.ts checks them,
 * and runs Grafana's dashboard-linter on every file.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as prettier from "prettier";
import { exporterHealth } from "./dashboards/exporter-health.ts";
import { fleetOverview } from "./dashboards/fleet-overview.ts";
import { releaseDetail } from "./dashboards/release-detail.ts";
import type { JsonObject } from "./lib/dashboard.ts";

export { CLUSTER_LABEL, DATASOURCE, TITLE_PREFIX, UIDS } from "./lib/dashboard.ts";

export const grafanaDir = path.dirname(fileURLToPath(import.meta.url));

/** Every dashboard by file name. */
export function dashboards(): Record<string, JsonObject> {
  return {
    "helm-fleet-overview.json": fleetOverview(),
    "helm-release-detail.json": releaseDetail(),
    "helm-drift-exporter-health.json": exporterHealth(),
  };
}

/** A dashboard as JSON, formatted as prettier formats it (the repository checks that). */
export async function render(file: string, dashboard: JsonObject): Promise<string> {
  const target = path.join(grafanaDir, file);
  const options = await prettier.resolveConfig(target);
  return prettier.format(JSON.stringify(dashboard), { ...options, parser: "json" });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } }, strict: true });
  let stale = false;
  for (const [file, dashboard] of Object.entries(dashboards())) {
    const target = path.join(grafanaDir, file);
    const text = await render(file, dashboard);
    if (values.check) {
      const current = await readFile(target, "utf8").catch(() => "");
      if (current !== text) {
        process.stderr.write(
          `${path.relative(process.cwd(), target)} is out of date: run node grafana/generate.ts\n`,
        );
        stale = true;
      }
    } else {
      await writeFile(target, text);
    }
  }
  if (stale) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
