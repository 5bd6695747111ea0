/**
 * Panels as small specs (kind, title, description, unit, queries, size), turned into Grafana's
 * JSON with the same datasource, legends, thresholds and layout rules everywhere; and the
 * colours and thresholds several dashboards share.
 */
import { DATASOURCE, type Json, type JsonObject } from "./dashboard.ts";

export interface Target {
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

export type Color = "green" | "orange" | "red" | "blue" | "text" | "purple" | "yellow";

export interface Step {
  value: number;
  color: Color;
}

export interface PanelCommon {
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

export type PanelSpec = Stat | TimeSeries | Table | BarGauge | StateTimeline;

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
export class Layout {
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

/** Colours of Helm release statuses. */
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

export const statusOverrides: Json[] = Object.entries(statusColors).map(([status, color]) => ({
  matcher: { id: "byName", options: status },
  properties: [{ id: "color", value: { mode: "fixed", fixedColor: color } }],
}));

export function unitOverride(field: string, unit: string): Json {
  return { matcher: { id: "byName", options: field }, properties: [{ id: "unit", value: unit }] };
}

/** Red from `value` on: something is broken. */
export const problem = (value = 1): Step[] => [{ value, color: "red" }];
/** Orange from `value` on: something needs a look. */
export const warning = (value = 1): Step[] => [{ value, color: "orange" }];
