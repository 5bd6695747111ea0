/**
 * What every dashboard shares: identity (uids, title prefix, tags), the datasource, the label
 * matchers of every query, and the dashboard object around the panels.
 */
import type { Layout } from "./panels.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = Record<string, Json>;

/** Every panel and every query uses the dashboard's datasource variable. */
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

export const TITLE_PREFIX = "Helm Drift Exporter / ";
export const UIDS = {
  fleet: "hde-fleet-overview",
  release: "hde-release-detail",
  health: "hde-exporter-health",
} as const;
const TAG = "helm-drift-exporter";

/**
 * The label that tells clusters apart in a central Prometheus (the monitoring mixins'
 * `clusterLabel`). Series without it (one Prometheus per cluster) match the `$cluster`
 * variable's "All" (`.*`), so the dashboards work with or without it.
 */
export const CLUSTER_LABEL = "cluster";

/**
 * Matchers of the exporter's own series. `instance` is a filter only (the linter asks for it):
 * no panel groups, labels or links by it, because it is the pod's address and changes on every
 * restart; an exporter is told apart by cluster and job.
 */
export const EXPORTER = `${CLUSTER_LABEL}=~"$cluster", job=~"$job", instance=~"$instance"`;
/** Matchers of per-release series. */
export const RELEASE = `${EXPORTER}, namespace=~"$namespace", release=~"$release"`;
/** Matchers of per-namespace series. */
export const NAMESPACE = `${EXPORTER}, namespace=~"$namespace"`;
/** Matchers of the drift SLO's recording rules, which aggregate per cluster and job. */
export const RECORDED = `${CLUSTER_LABEL}=~"$cluster", job=~"$job"`;
/** What tells one release from another across clusters, in `by (...)`. */
export const RELEASE_BY = `${CLUSTER_LABEL}, namespace, release`;
/** What tells one exporter from another, in `by (...)` and legends. */
export const EXPORTER_BY = `${CLUSTER_LABEL}, job`;
export const EXPORTER_LEGEND = `{{job}} {{${CLUSTER_LABEL}}}`;

export function dashboard(options: {
  uid: string;
  title: string;
  description: string;
  layout: Layout;
  variables: Json[];
}): JsonObject {
  return {
    id: null,
    uid: options.uid,
    title: TITLE_PREFIX + options.title,
    description: options.description,
    tags: [TAG, "helm"],
    editable: false,
    graphTooltip: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    refresh: "1m",
    schemaVersion: 39,
    version: 1,
    time: { from: "now-6h", to: "now" },
    timepicker: {},
    timezone: "browser",
    weekStart: "",
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
      ],
    },
    links: [
      {
        title: "Helm Drift Exporter",
        type: "dashboards",
        tags: [TAG],
        asDropdown: false,
        includeVars: true,
        keepTime: true,
        targetBlank: false,
        icon: "external link",
        tooltip: "",
        url: "",
      },
    ],
    templating: { list: options.variables },
    panels: options.layout.panels,
  };
}
