/**
 * Checks every grafana/*.json dashboard: fixed and unique uid, title prefix, variables, a title,
 * description, unit and the datasource variable on every panel, filters and metric names of
 * every query, that the files are what grafana/generate.ts writes, and Grafana's
 * dashboard-linter (`dashboard-linter lint --strict`, with grafana/.lint) on each.
 *
 * The linter binary is $DASHBOARD_LINTER when set, else the one scripts/build-dashboard-linter.sh
 * builds and caches (`bash scripts/build-dashboard-linter.sh --print-path` tells where:
 * ${HDE_CACHE_DIR:-~/.cache/helm-drift-exporter}/bin/dashboard-linter-<version>). Build it first
 * with `bash scripts/build-dashboard-linter.sh`; the test fails when it is missing.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { promisify, stripVTControlCharacters } from "node:util";
import { parse } from "yaml";
import { RUNTIME_METRIC_PREFIXES } from "../src/metrics/catalog.ts";
import { SelfMetrics } from "../src/metrics/self-metrics.ts";
import { PROMQL_KEYWORDS } from "../alerts/tools.ts";
import { documentedMetrics } from "../test/support/metrics-text.ts";
import { CLUSTER_LABEL, DATASOURCE, dashboards, grafanaDir, render, TITLE_PREFIX } from "./generate.ts";

const root = path.dirname(grafanaDir);

// ---------------------------------------------------------------------------------------------
// What queries may use

/** Names of the recording rules in alerts/*.rules.yaml, if any. */
function recordingRules(): Set<string> {
  const dir = path.join(root, "alerts");
  const names = new Set<string>();
  if (!existsSync(dir)) return names;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".rules.yaml"))) {
    const doc = parse(readFileSync(path.join(dir, file), "utf8")) as {
      groups?: { rules?: { record?: string }[] }[];
    } | null;
    for (const group of doc?.groups ?? [])
      for (const rule of group.rules ?? []) if (rule.record) names.add(rule.record);
  }
  return names;
}

/**
 * The prom-client process_* and nodejs_* metrics docs/metrics.md's "Runtime" section describes,
 * as the exporter really registers them.
 */
async function runtimeMetrics(): Promise<Set<string>> {
  const metrics = await new SelfMetrics().registry.getMetricsAsJSON();
  return new Set(
    metrics.map((m) => m.name).filter((name) => RUNTIME_METRIC_PREFIXES.some((p) => name.startsWith(p))),
  );
}

// ---------------------------------------------------------------------------------------------
// A small PromQL reader: enough for the queries of these dashboards

interface Selector {
  metric: string;
  matchers: Map<string, { op: string; value: string }>;
}

const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

function selectors(expr: string): Selector[] {
  const result: Selector[] = [];
  for (const match of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    const matchers = new Map<string, { op: string; value: string }>();
    for (const m of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g))
      matchers.set(m[1] ?? "", { op: m[2] ?? "", value: m[3] ?? "" });
    result.push({ metric: match[1] ?? "", matchers });
  }
  return result;
}

/** Metric names used without a {...} selector (which would escape the job filter). */
function bareMetrics(expr: string): string[] {
  const rest = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/[a-zA-Z_:][a-zA-Z0-9_:]*\s*\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(GROUPING, " ")
    .replace(/\$\{?\w+(?::\w+)?\}?/g, " ");
  const names: string[] = [];
  for (const m of rest.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const name = m[1] ?? "";
    if (m[2] !== undefined || PROMQL_KEYWORDS.has(name)) continue;
    names.push(name);
  }
  return names;
}

function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(GROUPING)].flatMap((m) =>
    (m[1] ?? "")
      .split(",")
      .map((label) => label.trim())
      .filter(Boolean),
  );
}

// ---------------------------------------------------------------------------------------------
// Dashboard JSON

interface Target {
  expr?: string;
  legendFormat?: string;
  datasource?: unknown;
}

interface Panel {
  type: string;
  title?: string;
  description?: string;
  datasource?: unknown;
  fieldConfig?: { defaults?: { unit?: string; links?: { url?: string }[] } };
  transformations?: { id: string; options?: { include?: { names?: string[] } } }[];
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  label?: string;
  query?: string | { query?: string };
  datasource?: unknown;
  multi?: boolean;
  allValue?: string;
}

interface Dashboard {
  uid?: unknown;
  title?: unknown;
  editable?: unknown;
  templating: { list: Variable[] };
  panels: Panel[];
}

/** Every panel, also those inside rows; rows themselves are layout, not panels. */
function panelsOf(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
}

function queryOf(v: Variable): string {
  return typeof v.query === "string" ? v.query : (v.query?.query ?? "");
}

interface KnownMetrics {
  documented: Map<string, Set<string>>;
  recorded: Set<string>;
  runtime: Set<string>;
}

/**
 * Checks one query: every metric is documented (docs/metrics.md), `up`, a runtime metric or a
 * recording rule; every selector has cluster=~"$cluster", job=~"$job" and instance=~"$instance"
 * (recording rules aggregate by cluster and job and have no instance), and namespace=~"$namespace" / release=~"$release" on
 * metrics with those labels; matchers and grouping use labels the metrics have; rate(),
 * irate() and increase() use $__rate_interval. Variable queries select what the variables
 * before them chose, so they need only the filters of those.
 */
function checkQuery(
  known: KnownMetrics,
  where: string,
  expr: string,
  context: "panel" | "variable" | "cluster variable" | "job variable" | "instance variable",
): void {
  const what = `${where}: ${expr}`;
  const all = [...selectors(expr).map((s) => s.metric), ...bareMetrics(expr)];
  assert.ok(all.length > 0, `${what}: no metric`);
  if (context !== "cluster variable")
    assert.deepEqual(bareMetrics(expr), [], `${what}: metric without {job=~"$job", ...}`);
  const scrape = new Set([CLUSTER_LABEL, "job", "instance"]);
  const labels = new Set(scrape);
  for (const metric of all) {
    const own = known.documented.get(metric);
    assert.ok(
      own !== undefined || metric === "up" || known.runtime.has(metric) || known.recorded.has(metric),
      `${what}: ${metric} is not in docs/metrics.md, the runtime metrics or alerts/*.rules.yaml`,
    );
    for (const label of own ?? []) labels.add(label);
  }
  for (const { metric, matchers } of selectors(expr)) {
    const own = known.documented.get(metric);
    const required = new Map([[CLUSTER_LABEL, "$cluster"]]);
    if (context !== "job variable") required.set("job", "$job");
    if (!known.recorded.has(metric) && !context.endsWith(" variable")) required.set("instance", "$instance");
    if (context === "panel" && own?.has("namespace")) required.set("namespace", "$namespace");
    if (context === "panel" && own?.has("release")) required.set("release", "$release");
    for (const [label, value] of required)
      assert.deepEqual(
        matchers.get(label),
        { op: "=~", value },
        `${what}: ${metric} needs ${label}=~"${value}"`,
      );
    if (own)
      for (const label of matchers.keys())
        assert.ok(own.has(label) || scrape.has(label), `${what}: ${metric} has no label ${label}`);
  }
  for (const label of groupingLabels(expr))
    assert.ok(labels.has(label), `${what}: no metric has label ${label}`);
  const calls = [...expr.matchAll(/\b(?:rate|irate|increase)\s*\(/g)].length;
  const ranges = [
    ...expr.matchAll(/\b(?:rate|irate|increase)\s*\(\s*[a-zA-Z_:][\w:]*\s*(?:\{[^}]*\})?\s*\[([^\]]*)\]/g),
  ];
  assert.equal(ranges.length, calls, `${what}: rate(), irate() and increase() of a plain selector`);
  for (const range of ranges) assert.equal(range[1], "$__rate_interval", `${what}: rate range`);
}

const files = readdirSync(grafanaDir)
  .filter((f) => f.endsWith(".json"))
  .sort();
const loaded = files.map((file) => ({
  file,
  dashboard: JSON.parse(readFileSync(path.join(grafanaDir, file), "utf8")) as Dashboard,
}));

// ---------------------------------------------------------------------------------------------

describe("grafana dashboards", () => {
  it("are the three dashboards grafana/generate.ts writes, as it writes them", async () => {
    const generated = dashboards();
    assert.deepEqual(files, Object.keys(generated).sort());
    for (const [file, dashboard] of Object.entries(generated)) {
      const text = readFileSync(path.join(grafanaDir, file), "utf8");
      assert.equal(
        text,
        await render(file, dashboard),
        `${file} is out of date: run node grafana/generate.ts`,
      );
    }
  });

  it("have fixed, unique uids and prefixed titles, and are not editable", () => {
    const uids = new Set<unknown>();
    for (const { file, dashboard } of loaded) {
      assert.ok(typeof dashboard.uid === "string" && /^[a-z0-9-]{1,40}$/.test(dashboard.uid), `${file}: uid`);
      assert.ok(!uids.has(dashboard.uid), `${file}: uid ${dashboard.uid} is used twice`);
      uids.add(dashboard.uid);
      assert.ok(
        typeof dashboard.title === "string" && dashboard.title.startsWith(TITLE_PREFIX),
        `${file}: title must start with "${TITLE_PREFIX}"`,
      );
      assert.equal(dashboard.editable, false, `${file}: editable`);
    }
  });

  for (const { file, dashboard } of loaded) {
    describe(file, () => {
      const vars = dashboard.templating.list;
      const variable = (name: string) => {
        const v = vars.find((candidate) => candidate.name === name);
        assert.ok(v, `${file}: no variable ${name}`);
        return v;
      };

      it("has one datasource variable and chained cluster, job, instance, namespace and release variables", () => {
        const datasources = vars.filter((v) => v.type === "datasource");
        assert.equal(datasources.length, 1, "exactly one datasource variable");
        const [datasource] = datasources;
        assert.ok(datasource);
        assert.equal(datasource.name, "datasource");
        assert.equal(datasource.query, "prometheus");
        assert.deepEqual(
          vars.map((v) => v.name),
          ["datasource", "cluster", "job", "instance", "namespace", "release"],
        );
        for (const name of ["cluster", "job", "instance", "namespace", "release"]) {
          const v = variable(name);
          assert.equal(v.type, "query", `${name}: type`);
          assert.deepEqual(v.datasource, DATASOURCE, `${name}: datasource`);
        }
        assert.equal(
          queryOf(variable("cluster")),
          `label_values(helm_drift_exporter_build_info, ${CLUSTER_LABEL})`,
        );
        assert.equal(
          queryOf(variable("job")),
          `label_values(helm_drift_exporter_build_info{${CLUSTER_LABEL}=~"$cluster"}, job)`,
        );
        assert.match(
          queryOf(variable("instance")),
          /^label_values\(\w+\{\w+=~"\$cluster", job=~"\$job"\}, instance\)$/,
        );
        assert.match(
          queryOf(variable("namespace")),
          /^label_values\(helm_release_\w+\{\w+=~"\$cluster", job=~"\$job"[^}]*\}, namespace\)$/,
        );
        assert.match(
          queryOf(variable("release")),
          /^label_values\(helm_release_\w+\{\w+=~"\$cluster", job=~"\$job"[^}]*namespace=~"\$namespace"\}, release\)$/,
        );
        for (const name of ["job", "instance"]) {
          assert.equal(variable(name).multi, true, `${name}: multi`);
          assert.equal(variable(name).allValue, ".+", `${name}: allValue`);
        }
        // "All" must also match series without a cluster label: one Prometheus per cluster.
        assert.equal(variable("cluster").multi, true);
        assert.equal(variable("cluster").allValue, ".*");
      });

      it("gives every panel a title, a description, a unit and the datasource variable", () => {
        const panels = panelsOf(dashboard);
        assert.ok(panels.length > 0);
        for (const p of panels) {
          const name = `panel "${p.title ?? "?"}"`;
          assert.ok(p.title?.trim(), `${file}: a ${p.type} panel has no title`);
          assert.ok(p.description?.trim(), `${name}: description`);
          assert.ok(p.fieldConfig?.defaults?.unit?.trim(), `${name}: unit`);
          assert.deepEqual(p.datasource, DATASOURCE, `${name}: datasource`);
          assert.ok(p.targets?.length, `${name}: queries`);
          for (const t of p.targets) {
            assert.deepEqual(t.datasource, DATASOURCE, `${name}: query datasource`);
            assert.ok(t.expr?.trim(), `${name}: query expr`);
          }
        }
      });

      it("queries documented metrics only, filtered by job, instance, namespace and release", async () => {
        const known = {
          documented: new Map(
            [...documentedMetrics(readFileSync(path.join(root, "docs", "metrics.md"), "utf8"))].map(
              ([name, metric]) => [name, new Set(metric.labels)],
            ),
          ),
          recorded: recordingRules(),
          runtime: await runtimeMetrics(),
        };
        for (const p of panelsOf(dashboard))
          for (const t of p.targets ?? [])
            checkQuery(known, `${file}, panel "${p.title ?? "?"}"`, t.expr ?? "", "panel");
        for (const v of vars.filter((candidate) => candidate.type === "query")) {
          const selector = /^label_values\((.*), \w+\)$/.exec(queryOf(v))?.[1] ?? "";
          checkQuery(
            known,
            `${file}, variable ${v.name}`,
            selector,
            v.name === "cluster" || v.name === "job" || v.name === "instance"
              ? `${v.name} variable`
              : "variable",
          );
        }
      });
    });
  }

  it("never key on instance (a pod address, new on every restart): no grouping, legend, column or link", () => {
    for (const { file, dashboard } of loaded) {
      for (const p of panelsOf(dashboard)) {
        const name = `${file}, panel "${p.title ?? "?"}"`;
        for (const t of p.targets ?? []) {
          assert.ok(!groupingLabels(t.expr ?? "").includes("instance"), `${name}: grouped by instance`);
          assert.doesNotMatch(t.legendFormat ?? "", /\{\{\s*instance\s*\}\}/, `${name}: legend`);
        }
        for (const transformation of p.transformations ?? [])
          assert.ok(!transformation.options?.include?.names?.includes("instance"), `${name}: column`);
        for (const link of p.fieldConfig?.defaults?.links ?? [])
          assert.doesNotMatch(link.url ?? "", /instance/, `${name}: link`);
      }
    }
  });

  it("name only existing dashboards and panels in the linter exclusions (grafana/.lint)", () => {
    const config = parse(readFileSync(path.join(grafanaDir, ".lint"), "utf8")) as {
      exclusions?: Record<string, { reason?: string; entries?: { dashboard?: string; panel?: string }[] }>;
    };
    for (const [rule, exclusion] of Object.entries(config.exclusions ?? {})) {
      assert.ok(exclusion.reason?.trim(), `${rule}: every exclusion needs a reason`);
      assert.ok(exclusion.entries?.length, `${rule}: exclude specific panels, not the whole rule`);
      for (const entry of exclusion.entries) {
        const dashboard = loaded.find((d) => d.dashboard.title === entry.dashboard)?.dashboard;
        assert.ok(dashboard, `${rule}: no dashboard titled ${entry.dashboard ?? "?"}`);
        assert.ok(
          panelsOf(dashboard).some((p) => p.title === entry.panel),
          `${rule}: no panel ${entry.panel ?? "?"} in ${entry.dashboard ?? "?"}`,
        );
      }
    }
  });

  describe("Grafana's dashboard-linter", () => {
    const linter =
      process.env.DASHBOARD_LINTER ??
      execFileSync("bash", [path.join(root, "scripts", "build-dashboard-linter.sh"), "--print-path"], {
        encoding: "utf8",
      }).trim();

    for (const { file } of loaded) {
      it(`passes ${file} with --strict`, async () => {
        assert.ok(
          existsSync(linter),
          `${linter} not found: run bash scripts/build-dashboard-linter.sh, or set DASHBOARD_LINTER`,
        );
        try {
          await promisify(execFile)(linter, ["lint", "--strict", path.join(grafanaDir, file)]);
        } catch (error) {
          const { stdout, stderr } = error as { stdout?: string; stderr?: string };
          const findings = stripVTControlCharacters(`${stdout ?? ""}${stderr ?? ""}`)
            .split("\n")
            .filter((line) => line.trim() && !line.startsWith("Checks that"))
            .join("\n");
          assert.fail(`dashboard-linter lint --strict ${file}:\n${findings}`);
        }
      });
    }
  });
});
