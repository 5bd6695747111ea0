/**
 * Writes the Grafana dashboards in grafana/*.json from the definitions below, so that every
 * panel gets the same datasource, variables, filters and layout rules.
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

export const grafanaDir = path.dirname(fileURLToPath(import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = Record<string, Json>;

/** Every panel and every query uses the dashboard's datasource variable. */
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

export const TITLE_PREFIX = "Helm Drift Exporter / ";
export const UIDS = {
  fleet: "hde-fleet-overview",
  release: "hde-release-detail",
  health: "hde-exporter-health",
} as const;
const TAG = "helm-drift-exporter";

/** Matchers of the exporter's own series. */
const EXPORTER = 'job=~"$job", instance=~"$instance"';
/** Matchers of per-release series. */
const RELEASE = `${EXPORTER}, namespace=~"$namespace", release=~"$release"`;
/** Matchers of per-namespace series. */
const NAMESPACE = `${EXPORTER}, namespace=~"$namespace"`;

// ---------------------------------------------------------------------------------------------
// Variables

function datasourceVariable(): JsonObject {
  return {
    name: "datasource",
    label: "Data source",
    type: "datasource",
    query: "prometheus",
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: "",
    skipUrlSync: false,
  };
}

interface QueryVariable {
  name: string;
  label: string;
  query: string;
  description: string;
  /** Many values and "All" (`.+`), or exactly one value. */
  multi: boolean;
  hide?: 0 | 2;
}

function queryVariable(v: QueryVariable): JsonObject {
  return {
    name: v.name,
    label: v.label,
    description: v.description,
    type: "query",
    datasource: { ...DATASOURCE },
    definition: v.query,
    query: { qryType: 1, query: v.query, refId: "PrometheusVariableQueryEditor-VariableQuery" },
    current: {},
    hide: v.hide ?? 0,
    includeAll: v.multi,
    multi: v.multi,
    ...(v.multi ? { allValue: ".+" } : {}),
    options: [],
    refresh: 2,
    regex: "",
    skipUrlSync: false,
    sort: 1,
  };
}

/**
 * datasource, job, instance, namespace and release. Releases come from `helm_release_status`,
 * not `helm_release_info`: the status series exist for every release, also one whose latest
 * record cannot be read (the one you most want to look at), while `helm_release_info` is absent
 * then.
 */
function variables(options: { multiRelease: boolean; hideRelease?: boolean }): Json[] {
  const hide = options.hideRelease ? 2 : 0;
  return [
    datasourceVariable(),
    queryVariable({
      name: "job",
      label: "Job",
      query: "label_values(helm_drift_exporter_build_info, job)",
      description: "Prometheus job(s) scraping helm-drift-exporter.",
      multi: true,
    }),
    queryVariable({
      name: "instance",
      label: "Instance",
      query: 'label_values(helm_drift_exporter_build_info{job=~"$job"}, instance)',
      description: "Exporter instance(s) of the selected jobs (one per cluster, usually).",
      multi: true,
    }),
    queryVariable({
      name: "namespace",
      label: "Namespace",
      query: `label_values(helm_release_status{${EXPORTER}}, namespace)`,
      description: "Namespace(s) of the Helm releases.",
      multi: options.multiRelease,
      hide,
    }),
    queryVariable({
      name: "release",
      label: "Release",
      query: `label_values(helm_release_status{${EXPORTER}, namespace=~"$namespace"}, release)`,
      description: "Helm release(s) in the selected namespaces.",
      multi: options.multiRelease,
      hide,
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// Queries

interface Target {
  expr: string;
  legend?: string;
  /** One value per series at the end of the range (stats, tables, bar gauges). */
  instant?: boolean;
}

function targets(list: readonly Target[], table: boolean): Json[] {
  return list.map((t, i) => ({
    datasource: { ...DATASOURCE },
    editorMode: "code",
    expr: t.expr,
    legendFormat: t.legend ?? "__auto",
    range: !(t.instant ?? false),
    instant: t.instant ?? false,
    ...(table ? { format: "table" } : {}),
    refId: String.fromCharCode(65 + i),
  }));
}

// ---------------------------------------------------------------------------------------------
// Panels

type Color = "green" | "orange" | "red" | "blue" | "text" | "purple" | "yellow";

interface Step {
  value: number;
  color: Color;
}

interface PanelCommon {
  title: string;
  description: string;
  unit: string;
  targets: Target[];
  w: number;
  h: number;
  /** Thresholds above the base colour, ascending. */
  steps?: Step[];
  base?: Color;
  min?: number;
  max?: number;
  decimals?: number;
  mappings?: Json[];
  overrides?: Json[];
  noValue?: string;
  links?: Json[];
}

interface Stat extends PanelCommon {
  kind: "stat";
  textMode?: "auto" | "value" | "name" | "value_and_name";
  colorMode?: "value" | "background" | "none";
  graph?: boolean;
}

interface TimeSeries extends PanelCommon {
  kind: "timeseries";
  stack?: boolean;
  /** Bars instead of lines (counts that change in steps). */
  bars?: boolean;
  thresholdLine?: boolean;
}

interface Table extends PanelCommon {
  kind: "table";
  /** Columns to show, in order, with their headers; others are hidden. */
  columns: Record<string, string>;
  sortBy?: string;
}

interface BarGauge extends PanelCommon {
  kind: "bargauge";
}

interface StateTimeline extends PanelCommon {
  kind: "state-timeline";
}

type PanelSpec = Stat | TimeSeries | Table | BarGauge | StateTimeline;

const reduceLast = { values: false, calcs: ["lastNotNull"], fields: "" };

function thresholds(p: PanelCommon): JsonObject {
  return {
    mode: "absolute",
    steps: [
      { color: p.base ?? "green", value: null },
      ...(p.steps ?? []).map((s) => ({ color: s.color, value: s.value })),
    ],
  };
}

function fieldDefaults(p: PanelCommon, color: JsonObject, custom?: JsonObject): JsonObject {
  return {
    unit: p.unit,
    color,
    thresholds: thresholds(p),
    // Only when set: the linter's panel-units-rule skips a panel with any mappings, even [].
    ...(p.mappings === undefined ? {} : { mappings: p.mappings }),
    ...(p.min === undefined ? {} : { min: p.min }),
    ...(p.max === undefined ? {} : { max: p.max }),
    ...(p.decimals === undefined ? {} : { decimals: p.decimals }),
    ...(p.noValue === undefined ? {} : { noValue: p.noValue }),
    ...(p.links === undefined ? {} : { links: p.links }),
    ...(custom === undefined ? {} : { custom }),
  };
}

function body(p: PanelSpec): JsonObject {
  switch (p.kind) {
    case "stat":
      return {
        fieldConfig: { defaults: fieldDefaults(p, { mode: "thresholds" }), overrides: p.overrides ?? [] },
        options: {
          reduceOptions: reduceLast,
          orientation: "auto",
          textMode: p.textMode ?? "auto",
          colorMode: p.colorMode ?? "value",
          graphMode: p.graph ? "area" : "none",
          justifyMode: "auto",
          wideLayout: true,
          showPercentChange: false,
        },
      };
    case "timeseries":
      return {
        fieldConfig: {
          defaults: fieldDefaults(
            p,
            { mode: "palette-classic" },
            {
              drawStyle: p.bars ? "bars" : "line",
              lineInterpolation: p.bars ? "linear" : "stepAfter",
              lineWidth: 1,
              fillOpacity: p.stack || p.bars ? 60 : 10,
              gradientMode: "none",
              showPoints: "never",
              spanNulls: false,
              axisSoftMin: 0,
              stacking: { mode: p.stack ? "normal" : "none", group: "A" },
              thresholdsStyle: { mode: p.thresholdLine ? "dashed" : "off" },
            },
          ),
          overrides: p.overrides ?? [],
        },
        options: {
          legend: {
            displayMode: "table",
            placement: "bottom",
            showLegend: true,
            calcs: ["lastNotNull", "max"],
          },
          tooltip: { mode: "multi", sort: "desc" },
        },
      };
    case "table":
      return {
        fieldConfig: {
          defaults: fieldDefaults(
            p,
            { mode: "thresholds" },
            { align: "auto", cellOptions: { type: "auto" } },
          ),
          overrides: p.overrides ?? [],
        },
        options: {
          showHeader: true,
          cellHeight: "sm",
          footer: { show: false, reducer: ["sum"], fields: "", countRows: false },
          ...(p.sortBy === undefined
            ? {}
            : { sortBy: [{ displayName: p.columns[p.sortBy] ?? p.sortBy, desc: true }] }),
        },
        transformations: [
          ...(p.targets.length > 1 ? [{ id: "merge", options: {} }] : []),
          {
            id: "filterFieldsByName",
            options: { include: { names: Object.keys(p.columns) } },
          },
          {
            id: "organize",
            options: {
              indexByName: Object.fromEntries(Object.keys(p.columns).map((name, i) => [name, i])),
              renameByName: p.columns,
            },
          },
        ],
      };
    case "bargauge":
      return {
        fieldConfig: {
          defaults: fieldDefaults(p, { mode: "thresholds" }),
          overrides: p.overrides ?? [],
        },
        options: {
          reduceOptions: reduceLast,
          orientation: "horizontal",
          displayMode: "gradient",
          valueMode: "color",
          namePlacement: "auto",
          showUnfilled: true,
          sizing: "auto",
          minVizHeight: 16,
          minVizWidth: 8,
          maxVizHeight: 300,
        },
      };
    case "state-timeline":
      return {
        fieldConfig: {
          defaults: fieldDefaults(p, { mode: "thresholds" }, { fillOpacity: 80, lineWidth: 0 }),
          overrides: p.overrides ?? [],
        },
        options: {
          mergeValues: true,
          showValue: "never",
          alignValue: "left",
          rowHeight: 0.8,
          legend: { displayMode: "list", placement: "bottom", showLegend: false },
          tooltip: { mode: "single", sort: "none" },
        },
      };
  }
}

/** Lays panels out left to right in rows of 24 grid units, with a row header per section. */
class Layout {
  readonly panels: Json[] = [];
  private id = 1;
  private x = 0;
  private y = 0;
  private lineHeight = 0;

  row(title: string): this {
    this.newLine();
    this.panels.push({
      type: "row",
      id: this.id++,
      title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y: this.y },
      panels: [],
    });
    this.y += 1;
    return this;
  }

  add(p: PanelSpec): this {
    if (this.x + p.w > 24) this.newLine();
    const table = p.kind === "table";
    const instant = table || p.kind === "bargauge";
    this.panels.push({
      type: p.kind,
      id: this.id++,
      title: p.title,
      description: p.description,
      datasource: { ...DATASOURCE },
      gridPos: { h: p.h, w: p.w, x: this.x, y: this.y },
      targets: targets(
        p.targets.map((t) => (instant ? { ...t, instant: true } : t)),
        table,
      ),
      ...body(p),
    });
    this.x += p.w;
    this.lineHeight = Math.max(this.lineHeight, p.h);
    return this;
  }

  private newLine(): void {
    this.y += this.lineHeight;
    this.x = 0;
    this.lineHeight = 0;
  }
}

function dashboard(options: {
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

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** A data link from a table row with `namespace` and `release` columns to the release detail. */
const releaseLink: Json[] = [
  {
    title: "Release detail",
    url: `/d/${UIDS.release}/?\${datasource:queryparam}&\${job:queryparam}&\${instance:queryparam}&var-namespace=\${__data.fields.namespace}&var-release=\${__data.fields.release}&\${__url_time_range}`,
  },
];

const statusColors: Record<string, Color> = {
  deployed: "green",
  superseded: "blue",
  uninstalled: "text",
  uninstalling: "purple",
  failed: "red",
  unknown: "red",
  "pending-install": "orange",
  "pending-upgrade": "orange",
  "pending-rollback": "orange",
};

/** Releases counted by the status of their latest revision; the bar gauge and the time series share it. */
const releasesByStatus = [
  {
    expr: `count by (status) (max by (namespace, release, status) (helm_release_status{${RELEASE}}) == 1)`,
    legend: "{{status}}",
  },
];

const statusOverrides: Json[] = Object.entries(statusColors).map(([status, color]) => ({
  matcher: { id: "byName", options: status },
  properties: [{ id: "color", value: { mode: "fixed", fixedColor: color } }],
}));

function unitOverride(field: string, unit: string): Json {
  return { matcher: { id: "byName", options: field }, properties: [{ id: "unit", value: unit }] };
}

const problem = (value = 1): Step[] => [{ value, color: "red" }];
const warning = (value = 1): Step[] => [{ value, color: "orange" }];

/**
 * Share of releases free of drift: 1 - releases with a drifted object / releases checked for
 * drift (those with drift series: not uninstalled, base revision readable). The same SLI as the
 * recording rules `helm_release:drift_sli_*`, computed from raw series so that it follows the
 * namespace and release filters and needs no recording rules.
 */
const driftFreeShare = `1 - (
  (count(sum by (namespace, release) (helm_release_drifted_resources{${RELEASE}}) > 0) or vector(0))
  /
  count(sum by (namespace, release) (helm_release_drifted_resources{${RELEASE}}))
)`;

const RECORDING_RULES =
  "Needs the recording rules of alerts/helm-drift-exporter.rules.yaml; they aggregate per job, so the instance, namespace and release filters do not apply.";

// ---------------------------------------------------------------------------------------------
// Fleet overview

function fleetOverview(): JsonObject {
  const sumBy = (metric: string, label: string, extra = "") =>
    `sum by (${label}) (max by (namespace, release, ${label}) (${metric}{${RELEASE}${extra}}))`;
  const layout = new Layout()
    .row("Releases")
    .add({
      kind: "stat",
      title: "Releases",
      description: "Helm releases stored in the selected namespaces, whatever their status.",
      unit: "none",
      base: "blue",
      w: 4,
      h: 4,
      targets: [{ expr: `count(max by (namespace, release) (helm_release_status{${RELEASE}}))` }],
    })
    .add({
      kind: "stat",
      title: "Failed releases",
      description: "Releases whose latest revision is in status failed.",
      unit: "none",
      steps: problem(),
      w: 4,
      h: 4,
      targets: [
        { expr: `sum(max by (namespace, release) (helm_release_status{${RELEASE}, status="failed"}))` },
      ],
    })
    .add({
      kind: "stat",
      title: "Pending releases",
      description:
        "Releases whose latest revision is pending-install, pending-upgrade or pending-rollback: helm refuses to upgrade or roll them back while an operation seems in progress.",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 4,
      targets: [
        {
          expr: `sum(max by (namespace, release) (helm_release_status{${RELEASE}, status=~"pending-.*"}))`,
        },
      ],
    })
    .add({
      kind: "stat",
      title: "Drifted releases",
      description: "Releases with at least one object modified or missing compared with their manifest.",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 4,
      targets: [
        {
          expr: `count(sum by (namespace, release) (helm_release_drifted_resources{${RELEASE}}) > 0) or vector(0)`,
        },
      ],
    })
    .add({
      kind: "stat",
      title: "Unreadable releases",
      description:
        "Releases whose latest release record cannot be decoded (bad base64 or gzip, too large, invalid JSON or manifest): their status, drift and hooks are not checked.",
      unit: "none",
      steps: problem(),
      w: 4,
      h: 4,
      targets: [
        {
          expr: `count(max by (namespace, release) (helm_release_unreadable{${RELEASE}}) == 1) or vector(0)`,
        },
      ],
    })
    .add({
      kind: "stat",
      title: "Unchecked objects",
      description:
        "Objects of release manifests the exporter could not compare with the cluster (RBAC forbids reading the kind, the API is not served, or an error): their drift is unknown.",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 4,
      targets: [
        { expr: `sum(max by (namespace, release, reason) (helm_release_unchecked_resources{${RELEASE}}))` },
      ],
    })
    .add({
      kind: "bargauge",
      title: "Releases by status",
      description: "Releases by the status of their latest revision (helm_release_status == 1).",
      unit: "none",
      base: "blue",
      w: 8,
      h: 8,
      overrides: statusOverrides,
      targets: releasesByStatus,
    })
    .add({
      kind: "timeseries",
      title: "Releases by status over time",
      description: "Releases by the status of their latest revision, stacked.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 16,
      h: 8,
      overrides: statusOverrides,
      targets: releasesByStatus,
    })
    .add({
      kind: "table",
      title: "Releases stuck pending",
      description:
        "Releases whose latest revision is pending-*, and for how long (now - its last_deployed time). Past a few minutes the helm process that started it is gone: see docs/runbooks.md. Click a row for the release detail.",
      unit: "s",
      steps: [
        { value: 600, color: "orange" },
        { value: 1800, color: "red" },
      ],
      w: 24,
      h: 6,
      links: releaseLink,
      columns: { namespace: "Namespace", release: "Release", status: "Status", Value: "Pending for" },
      sortBy: "Value",
      targets: [
        {
          expr: `(time() - max by (namespace, release) (helm_release_last_deployed_timestamp_seconds{${RELEASE}}))
  * on (namespace, release) group_left (status)
    (max by (namespace, release, status) (helm_release_status{${RELEASE}, status=~"pending-.*"}) == 1)`,
        },
      ],
    })
    .row("Drift")
    .add({
      kind: "timeseries",
      title: "Drifted objects: modified vs missing",
      description:
        "Objects of all selected releases that differ from their manifest: modified (a declared field has another value) or missing (deleted from the cluster).",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      overrides: [
        {
          matcher: { id: "byName", options: "missing" },
          properties: [{ id: "color", value: { mode: "fixed", fixedColor: "red" } }],
        },
        {
          matcher: { id: "byName", options: "modified" },
          properties: [{ id: "color", value: { mode: "fixed", fixedColor: "orange" } }],
        },
      ],
      targets: [{ expr: sumBy("helm_release_drifted_resources", "reason"), legend: "{{reason}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Drifted objects by field manager",
      description:
        "Drifted objects by the managedFields manager that changed them (kubectl-edit, kubectl-patch, an operator...); unknown when no manager owns the change (deleted objects, removed fields).",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      targets: [{ expr: sumBy("helm_release_drift_manager_resources", "manager"), legend: "{{manager}}" }],
    })
    .add({
      kind: "table",
      title: "Drifted releases",
      description:
        "Releases with drifted objects: how many, how many fields, and since when the drift began. Click a row for the release detail.",
      unit: "none",
      w: 24,
      h: 8,
      links: releaseLink,
      overrides: [unitOverride("Value #C", "dtdurations")],
      columns: {
        namespace: "Namespace",
        release: "Release",
        "Value #A": "Drifted objects",
        "Value #B": "Drifted fields",
        "Value #C": "Drifted for",
      },
      sortBy: "Value #A",
      targets: [
        {
          expr: `sum by (namespace, release) (max by (namespace, release, reason) (helm_release_drifted_resources{${RELEASE}})) > 0`,
        },
        {
          expr: `max by (namespace, release) (helm_release_drifted_fields{${RELEASE}})
  and on (namespace, release)
    (sum by (namespace, release) (helm_release_drifted_resources{${RELEASE}}) > 0)`,
        },
        {
          expr: `time() - max by (namespace, release) (helm_release_drift_since_timestamp_seconds{${RELEASE}})`,
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Unchecked objects by reason",
      description:
        "Objects that could not be compared: forbidden (the exporter's RBAC may not read the kind), not_served (API version or CRD missing), error. Unknown, never counted as in sync.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      targets: [{ expr: sumBy("helm_release_unchecked_resources", "reason"), legend: "{{reason}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Ignored drift by reason",
      description:
        "Drift not reported because it is meant to happen: hpa (replicas an HPA scales), manager (--drift.ignore-managers), rule (config drift.ignore), annotation (on the live object). Fields, or objects for a whole missing object.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      targets: [{ expr: sumBy("helm_release_ignored_drift", "reason"), legend: "{{reason}}" }],
    })
    .row("Hooks, leftovers and stuck deletions")
    .add({
      kind: "timeseries",
      title: "Orphaned hook objects by reason",
      description:
        "Hook objects still in the cluster that their delete policy should have removed (succeeded_not_deleted, failed_not_deleted), or failed runs left behind (failed).",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 8,
      h: 8,
      targets: [{ expr: sumBy("helm_release_orphaned_hook_resources", "reason"), legend: "{{reason}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Hook objects of no stored release",
      description:
        "Per namespace: objects carrying helm.sh/hook that no stored release references (their release was uninstalled or purged). Not filtered by release.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 8,
      h: 8,
      targets: [
        {
          expr: `max by (namespace) (helm_orphaned_hook_resources{${NAMESPACE}})`,
          legend: "{{namespace}}",
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Leftovers and objects stuck terminating",
      description:
        "Objects annotated for a release that its deployed manifest no longer contains (leftover, or kept by helm.sh/resource-policy: keep), and release or hook objects held by finalizers past --terminating.threshold.",
      unit: "none",
      decimals: 0,
      w: 8,
      h: 8,
      targets: [
        { expr: sumBy("helm_release_leftover_resources", "reason"), legend: "{{reason}}" },
        {
          expr: `sum(max by (namespace, release) (helm_release_terminating_resources{${RELEASE}}))`,
          legend: "stuck terminating",
        },
      ],
    })
    .row("Drift SLO")
    .add({
      kind: "stat",
      title: "Releases free of drift",
      description:
        "Share of the releases checked for drift that have no modified or missing object, now. Computed from raw series: follows the namespace and release filters.",
      unit: "percentunit",
      decimals: 1,
      base: "red",
      steps: [
        { value: 0.95, color: "orange" },
        { value: 0.99, color: "green" },
      ],
      w: 4,
      h: 8,
      targets: [{ expr: driftFreeShare }],
    })
    .add({
      kind: "stat",
      title: "Free of drift over the time range",
      description:
        "Average share of releases free of drift over the dashboard's time range. Computed from raw series: follows the namespace and release filters.",
      unit: "percentunit",
      decimals: 2,
      base: "red",
      steps: [
        { value: 0.95, color: "orange" },
        { value: 0.99, color: "green" },
      ],
      w: 4,
      h: 8,
      targets: [{ expr: `avg_over_time((${driftFreeShare})[$__range:])` }],
    })
    .add({
      kind: "timeseries",
      title: "Releases free of drift over time",
      description:
        "Share of the releases checked for drift that have no drifted object. The dashed line is the default 99% objective of the drift SLO (alerts/helm-drift-exporter.rules.yaml).",
      unit: "percentunit",
      max: 1,
      base: "red",
      steps: [{ value: 0.99, color: "green" }],
      thresholdLine: true,
      w: 8,
      h: 8,
      targets: [{ expr: driftFreeShare, legend: "free of drift" }],
    })
    .add({
      kind: "stat",
      title: "Error budget remaining (30d)",
      description: `Share of the drift SLO's 30-day error budget left: 1 - drifted release ratio over 30 days / (1 - objective). Below 0 the objective is missed. ${RECORDING_RULES}`,
      unit: "percentunit",
      decimals: 1,
      base: "red",
      steps: [
        { value: 0, color: "orange" },
        { value: 0.25, color: "green" },
      ],
      w: 8,
      h: 4,
      targets: [
        { expr: 'helm_release:drift_error_budget_remaining:ratio30d{job=~"$job"}', legend: "{{job}}" },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Drifted release ratio by window",
      description: `Share of releases drifted, averaged over 1h, 1d and 30d: the burn-rate alerts compare these with the error budget. ${RECORDING_RULES}`,
      unit: "percentunit",
      w: 8,
      h: 4,
      targets: [
        { expr: 'helm_release:drift_error:ratio_rate1h{job=~"$job"}', legend: "1h {{job}}" },
        { expr: 'helm_release:drift_error:ratio_rate1d{job=~"$job"}', legend: "1d {{job}}" },
        { expr: 'helm_release:drift_error:ratio_rate30d{job=~"$job"}', legend: "30d {{job}}" },
      ],
    });
  return dashboard({
    uid: UIDS.fleet,
    title: "Fleet overview",
    description: "Every Helm release the exporter sees: status, drift, hooks, leftovers, and the drift SLO.",
    layout,
    variables: variables({ multiRelease: true }),
  });
}

// ---------------------------------------------------------------------------------------------
// Release detail

function releaseDetail(): JsonObject {
  const one = (metric: string, extra = "") => `max(${metric}{${RELEASE}${extra}})`;
  const by = (metric: string, label: string) => `max by (${label}) (${metric}{${RELEASE}})`;
  const layout = new Layout()
    .row("Status and revisions")
    .add({
      kind: "stat",
      title: "Status",
      description: "Status of the latest revision.",
      unit: "none",
      textMode: "name",
      colorMode: "background",
      w: 4,
      h: 4,
      overrides: statusOverrides,
      noValue: "not found",
      targets: [{ expr: `${by("helm_release_status", "status")} == 1`, legend: "{{status}}" }],
    })
    .add({
      kind: "stat",
      title: "Latest revision",
      description: "Number of the latest revision.",
      unit: "none",
      base: "blue",
      w: 3,
      h: 4,
      targets: [{ expr: one("helm_release_revision") }],
    })
    .add({
      kind: "stat",
      title: "Deployed revision",
      description: "Newest revision in status deployed; none when no revision is deployed.",
      unit: "none",
      base: "blue",
      noValue: "none",
      w: 3,
      h: 4,
      targets: [{ expr: one("helm_release_deployed_revision") }],
    })
    .add({
      kind: "stat",
      title: "Consecutive failed revisions",
      description: "Failed revisions since the last successful one; 0 when the latest did not fail.",
      unit: "none",
      steps: [
        { value: 1, color: "orange" },
        { value: 3, color: "red" },
      ],
      w: 3,
      h: 4,
      targets: [{ expr: one("helm_release_failed_revisions") }],
    })
    .add({
      kind: "stat",
      title: "Revisions stored",
      description: "Revisions kept in the history (bounded by helm's --history-max).",
      unit: "none",
      base: "blue",
      w: 3,
      h: 4,
      targets: [{ expr: one("helm_release_revisions") }],
    })
    .add({
      kind: "stat",
      title: "Last deployed",
      description: "When the latest revision was deployed or attempted (its last_deployed).",
      unit: "dateTimeFromNow",
      base: "text",
      w: 4,
      h: 4,
      targets: [{ expr: `${one("helm_release_last_deployed_timestamp_seconds")} * 1000` }],
    })
    .add({
      kind: "stat",
      title: "Record readable",
      description:
        "Whether the latest release record can be decoded; when not, the reason (base64, gzip, too_large, json, schema, manifest, fetch) and the exporter's log say why.",
      unit: "none",
      textMode: "name",
      colorMode: "background",
      base: "red",
      noValue: "readable",
      w: 4,
      h: 4,
      targets: [
        { expr: `${by("helm_release_unreadable", "reason")} == 1`, legend: "unreadable: {{reason}}" },
      ],
    })
    .add({
      kind: "table",
      title: "Chart",
      description: "Chart, chart version, app version and storage driver of the latest revision.",
      unit: "none",
      w: 24,
      h: 4,
      columns: {
        chart: "Chart",
        chart_version: "Chart version",
        app_version: "App version",
        storage: "Storage",
      },
      targets: [
        { expr: `max by (chart, chart_version, app_version, storage) (helm_release_info{${RELEASE}})` },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Revisions",
      description:
        "Latest and newest deployed revision numbers, and consecutive failed revisions, over time: a latest above deployed is an upgrade that did not succeed.",
      unit: "none",
      decimals: 0,
      w: 12,
      h: 8,
      targets: [
        { expr: one("helm_release_revision"), legend: "latest" },
        { expr: one("helm_release_deployed_revision"), legend: "deployed" },
        { expr: one("helm_release_failed_revisions"), legend: "consecutive failed" },
      ],
    })
    .add({
      kind: "state-timeline",
      title: "Status over time",
      description: "Status of the latest revision over time.",
      unit: "none",
      w: 12,
      h: 8,
      overrides: statusOverrides,
      mappings: [{ type: "value", options: { "1": { text: "current" } } }],
      targets: [{ expr: `${by("helm_release_status", "status")} == 1`, legend: "{{status}}" }],
    })
    .row("Drift")
    .add({
      kind: "stat",
      title: "Modified objects",
      description: "Objects of the manifest with a declared field that has another value in the cluster.",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_drifted_resources", ', reason="modified"') }],
    })
    .add({
      kind: "stat",
      title: "Missing objects",
      description: "Objects of the manifest that do not exist in the cluster.",
      unit: "none",
      steps: problem(),
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_drifted_resources", ', reason="missing"') }],
    })
    .add({
      kind: "stat",
      title: "Drifted fields",
      description: "Drifted fields over all modified objects.",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_drifted_fields") }],
    })
    .add({
      kind: "stat",
      title: "Drifted since",
      description:
        "When the current drift began: the earliest managedFields time of a manager that caused it (or when the exporter first saw drift the cluster keeps no date of).",
      unit: "dateTimeFromNow",
      base: "orange",
      noValue: "no drift",
      w: 4,
      h: 4,
      targets: [{ expr: `${one("helm_release_drift_since_timestamp_seconds")} * 1000` }],
    })
    .add({
      kind: "stat",
      title: "Objects checked",
      description: "Objects in the manifest drift is checked against.",
      unit: "none",
      base: "blue",
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_managed_resources") }],
    })
    .add({
      kind: "stat",
      title: "Checked against revision",
      description:
        "The revision drift is checked against: the newest deployed one, or the latest when none is deployed.",
      unit: "none",
      base: "blue",
      textMode: "value_and_name",
      w: 4,
      h: 4,
      targets: [{ expr: by("helm_release_drift_base_revision", "base"), legend: "{{base}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Drifted objects by reason",
      description: "Objects modified or missing compared with the manifest, over time.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 8,
      h: 8,
      targets: [{ expr: by("helm_release_drifted_resources", "reason"), legend: "{{reason}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Drifted fields over time",
      description: "Drifted fields over all modified objects, over time.",
      unit: "none",
      decimals: 0,
      w: 8,
      h: 8,
      targets: [{ expr: one("helm_release_drifted_fields"), legend: "fields" }],
    })
    .add({
      kind: "bargauge",
      title: "Drifted objects by field manager",
      description:
        "Who changed the drifted objects: the managedFields manager (kubectl-edit, kubectl-patch, an operator...); unknown for deleted objects and removed fields.",
      unit: "none",
      base: "orange",
      w: 8,
      h: 8,
      targets: [{ expr: by("helm_release_drift_manager_resources", "manager"), legend: "{{manager}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Unchecked objects by reason",
      description:
        "Objects the exporter could not compare: forbidden (RBAC), not_served (API or CRD missing), error. Their drift is unknown.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      targets: [{ expr: by("helm_release_unchecked_resources", "reason"), legend: "{{reason}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Ignored drift by reason",
      description:
        "Drift not reported because it is meant to happen: hpa, manager, rule or annotation (see docs/drift.md).",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      targets: [{ expr: by("helm_release_ignored_drift", "reason"), legend: "{{reason}}" }],
    })
    .row("Hooks, leftovers and stuck deletions")
    .add({
      kind: "timeseries",
      title: "Orphaned hook objects by reason",
      description:
        "Hook objects left in the cluster: succeeded_not_deleted and failed_not_deleted (their delete policy should have removed them), failed (a failed run left behind).",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 8,
      h: 8,
      targets: [{ expr: by("helm_release_orphaned_hook_resources", "reason"), legend: "{{reason}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Running hooks by state",
      description:
        "Hooks whose last run is recorded as Running, by what their object shows now: active (wait), complete or failed (helm stopped watching: act), missing, not_a_job.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 8,
      h: 8,
      targets: [{ expr: by("helm_release_running_hooks", "state"), legend: "{{state}}" }],
    })
    .add({
      kind: "stat",
      title: "Oldest running hook started",
      description: "Start of the oldest hook recorded as running.",
      unit: "dateTimeFromNow",
      base: "text",
      noValue: "no hook running",
      w: 4,
      h: 4,
      targets: [{ expr: `min(helm_release_running_hook_started_timestamp_seconds{${RELEASE}}) * 1000` }],
    })
    .add({
      kind: "stat",
      title: "Hook running for",
      description: "How long the oldest hook recorded as running has run.",
      unit: "dtdurations",
      steps: [
        { value: 600, color: "orange" },
        { value: 1800, color: "red" },
      ],
      noValue: "no hook running",
      w: 4,
      h: 4,
      targets: [{ expr: `time() - min(helm_release_running_hook_started_timestamp_seconds{${RELEASE}})` }],
    })
    .add({
      kind: "stat",
      title: "Objects stuck terminating",
      description:
        "Release or hook objects deleted longer ago than --terminating.threshold and still held by finalizers (names in the JSON output).",
      unit: "none",
      steps: problem(),
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_terminating_resources") }],
    })
    .add({
      kind: "stat",
      title: "Unreferenced hook objects in namespace",
      description:
        "Objects carrying helm.sh/hook in this namespace that no stored release references (of any release: uninstalled or purged ones).",
      unit: "none",
      steps: warning(),
      noValue: "0",
      w: 4,
      h: 4,
      targets: [{ expr: `max(helm_orphaned_hook_resources{${NAMESPACE}})` }],
    })
    .add({
      kind: "timeseries",
      title: "Leftover objects by reason",
      description:
        "Objects annotated for this release that its deployed manifest no longer contains: leftover (e.g. created by a failed upgrade) or kept (helm.sh/resource-policy: keep).",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      targets: [{ expr: by("helm_release_leftover_resources", "reason"), legend: "{{reason}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Objects stuck terminating over time",
      description: "Release or hook objects held by finalizers past --terminating.threshold, over time.",
      unit: "none",
      decimals: 0,
      w: 12,
      h: 8,
      targets: [{ expr: one("helm_release_terminating_resources"), legend: "stuck terminating" }],
    });
  return dashboard({
    uid: UIDS.release,
    title: "Release detail",
    description:
      "One Helm release: status and revision history, drift and who caused it, hooks, leftovers, stuck deletions.",
    layout,
    variables: variables({ multiRelease: false }),
  });
}

// ---------------------------------------------------------------------------------------------
// Exporter health

function exporterHealth(): JsonObject {
  const rate = (metric: string, by: string) =>
    `sum by (${by}) (rate(${metric}{${EXPORTER}}[$__rate_interval]))`;
  const upDown: Json[] = [
    {
      type: "value",
      options: {
        "0": { text: "down", color: "red", index: 0 },
        "1": { text: "up", color: "green", index: 1 },
      },
    },
  ];
  const okFailed: Json[] = [
    {
      type: "value",
      options: {
        "0": { text: "failed", color: "red", index: 0 },
        "1": { text: "ok", color: "green", index: 1 },
      },
    },
  ];
  const layout = new Layout()
    .row("Exporter")
    .add({
      kind: "stat",
      title: "Up",
      description: "Whether Prometheus could scrape the exporter, per instance.",
      unit: "none",
      mappings: upDown,
      colorMode: "background",
      textMode: "value_and_name",
      w: 4,
      h: 4,
      targets: [{ expr: `up{${EXPORTER}}`, legend: "{{instance}}" }],
    })
    .add({
      kind: "stat",
      title: "Last scan",
      description:
        "Whether the most recent scan succeeded in full; failed when it failed, timed out, or a collector failed (the previous results stay served).",
      unit: "none",
      mappings: okFailed,
      colorMode: "background",
      textMode: "value_and_name",
      w: 4,
      h: 4,
      targets: [{ expr: `helm_drift_exporter_last_scan_success{${EXPORTER}}`, legend: "{{instance}}" }],
    })
    .add({
      kind: "stat",
      title: "Age of served results",
      description:
        "Time since the scan whose results are served finished (time() - helm_drift_exporter_last_scan_timestamp_seconds). Every release metric is that old.",
      unit: "s",
      steps: [
        { value: 600, color: "orange" },
        { value: 1200, color: "red" },
      ],
      w: 4,
      h: 4,
      targets: [
        {
          expr: `time() - helm_drift_exporter_last_scan_timestamp_seconds{${EXPORTER}}`,
          legend: "{{instance}}",
        },
      ],
    })
    .add({
      kind: "stat",
      title: "Scan duration",
      description: "Wall time of the scan whose results are served.",
      unit: "s",
      base: "blue",
      w: 4,
      h: 4,
      targets: [{ expr: `helm_drift_exporter_scan_duration_seconds{${EXPORTER}}`, legend: "{{instance}}" }],
    })
    .add({
      kind: "stat",
      title: "Releases scanned",
      description: "Releases seen by the served scan.",
      unit: "none",
      base: "blue",
      w: 4,
      h: 4,
      targets: [{ expr: `helm_drift_exporter_releases{${EXPORTER}}`, legend: "{{instance}}" }],
    })
    .add({
      kind: "stat",
      title: "Uptime",
      description: "Time since the exporter process started.",
      unit: "dtdurations",
      base: "blue",
      w: 4,
      h: 4,
      targets: [{ expr: `time() - process_start_time_seconds{${EXPORTER}}`, legend: "{{instance}}" }],
    })
    .add({
      kind: "table",
      title: "Build",
      description: "Exporter and Node.js versions per instance.",
      unit: "none",
      w: 24,
      h: 4,
      columns: { job: "Job", instance: "Instance", version: "Version", node_version: "Node.js" },
      targets: [{ expr: `helm_drift_exporter_build_info{${EXPORTER}}` }],
    })
    .row("Scans")
    .add({
      kind: "timeseries",
      title: "Age of served results over time",
      description:
        "Time since the served scan finished: a sawtooth up to the schedule's interval is normal; a rising line means scans fail or hang.",
      unit: "s",
      steps: [{ value: 1200, color: "red" }],
      thresholdLine: true,
      w: 12,
      h: 8,
      targets: [
        {
          expr: `time() - helm_drift_exporter_last_scan_timestamp_seconds{${EXPORTER}}`,
          legend: "{{instance}}",
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Scans by result",
      description:
        "Scans per minute by result: success, partial (a collector failed), error, timeout, skipped (the previous scan was still running).",
      unit: "opm",
      stack: true,
      bars: true,
      w: 12,
      h: 8,
      overrides: [
        ["success", "green"],
        ["partial", "orange"],
        ["error", "red"],
        ["timeout", "red"],
        ["skipped", "yellow"],
      ].map(([result, color]) => ({
        matcher: { id: "byName", options: result ?? "" },
        properties: [{ id: "color", value: { mode: "fixed", fixedColor: color ?? "" } }],
      })),
      targets: [{ expr: `${rate("helm_drift_exporter_scans_total", "result")} * 60`, legend: "{{result}}" }],
    })
    .add({
      kind: "timeseries",
      title: "Scan duration over time",
      description:
        "Wall time of the served scan and of each collector in it (releases, drift, hooks), per instance.",
      unit: "s",
      w: 12,
      h: 8,
      targets: [
        { expr: `helm_drift_exporter_scan_duration_seconds{${EXPORTER}}`, legend: "scan {{instance}}" },
        {
          expr: `helm_drift_exporter_collector_duration_seconds{${EXPORTER}}`,
          legend: "{{collector}} {{instance}}",
        },
      ],
    })
    .add({
      kind: "state-timeline",
      title: "Collector success",
      description:
        "Whether each collector (releases, drift, hooks) succeeded in the served scan, per instance.",
      unit: "none",
      mappings: okFailed,
      w: 12,
      h: 8,
      targets: [
        {
          expr: `helm_drift_exporter_collector_success{${EXPORTER}}`,
          legend: "{{collector}} {{instance}}",
        },
      ],
    })
    .row("Kubernetes API")
    .add({
      kind: "timeseries",
      title: "API requests by verb and resource",
      description: "Requests to the Kubernetes API per second, by verb (get, list) and resource.",
      unit: "reqps",
      stack: true,
      w: 8,
      h: 8,
      targets: [
        {
          expr: rate("helm_drift_exporter_kube_api_requests_total", "verb, resource"),
          legend: "{{verb}} {{resource}}",
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "API errors by verb and resource",
      description:
        "Requests per second that failed with an error status or a transport error, by verb and resource. Forbidden kinds show up here and as unchecked objects.",
      unit: "reqps",
      stack: true,
      w: 8,
      h: 8,
      targets: [
        {
          expr: rate("helm_drift_exporter_kube_api_request_errors_total", "verb, resource"),
          legend: "{{verb}} {{resource}}",
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "API response bytes by verb and resource",
      description: "Bytes per second received from the Kubernetes API, by verb and resource.",
      unit: "Bps",
      stack: true,
      w: 8,
      h: 8,
      targets: [
        {
          expr: rate("helm_drift_exporter_kube_api_response_bytes_total", "verb, resource"),
          legend: "{{verb}} {{resource}}",
        },
      ],
    })
    .row("Process")
    .add({
      kind: "timeseries",
      title: "Memory",
      description:
        "Resident memory of the exporter process, and the V8 heaps in use and allocated: the scanner thread's, which holds what scans read and grows with the releases, and the serving thread's. The scanner's heap is capped by --scan.heap-limit.",
      unit: "bytes",
      w: 8,
      h: 8,
      targets: [
        { expr: `process_resident_memory_bytes{${EXPORTER}}`, legend: "resident {{instance}}" },
        {
          expr: `helm_drift_exporter_scanner_heap_used_bytes{${EXPORTER}}`,
          legend: "scanner heap used {{instance}}",
        },
        {
          expr: `helm_drift_exporter_scanner_heap_size_bytes{${EXPORTER}}`,
          legend: "scanner heap total {{instance}}",
        },
        { expr: `nodejs_heap_size_used_bytes{${EXPORTER}}`, legend: "serving heap used {{instance}}" },
        { expr: `nodejs_heap_size_total_bytes{${EXPORTER}}`, legend: "serving heap total {{instance}}" },
      ],
    })
    .add({
      kind: "timeseries",
      title: "CPU",
      description: "CPU time used by the exporter process, user and system, in cores (100% = one core).",
      unit: "percentunit",
      w: 8,
      h: 8,
      targets: [
        {
          expr: `sum by (instance) (rate(process_cpu_seconds_total{${EXPORTER}}[$__rate_interval]))`,
          legend: "{{instance}}",
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Event loop lag",
      description:
        "Node.js event loop lag (p99 and max since the last scrape): long stalls delay scrapes and scans.",
      unit: "s",
      w: 8,
      h: 8,
      targets: [
        { expr: `nodejs_eventloop_lag_p99_seconds{${EXPORTER}}`, legend: "p99 {{instance}}" },
        { expr: `nodejs_eventloop_lag_max_seconds{${EXPORTER}}`, legend: "max {{instance}}" },
      ],
    });
  return dashboard({
    uid: UIDS.health,
    title: "Exporter health",
    description:
      "helm-drift-exporter itself: scrape and scan status, age of the served data, collectors, Kubernetes API use, process resources, build.",
    layout,
    // namespace and release filter nothing here; they are kept (hidden) so that the dashboard
    // links carry them between the three dashboards.
    variables: variables({ multiRelease: true, hideRelease: true }),
  });
}

// ---------------------------------------------------------------------------------------------

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
