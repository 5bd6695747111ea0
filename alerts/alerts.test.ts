/**
 * The alert rules: the committed files are what alerts/generate.ts makes, promtool accepts them
 * and their unit tests (alerts/tests/*.yaml) pass, and every rule follows the conventions.
 *
 * promtool: $PROMTOOL when set, else the Prometheus 3 promtool that scripts/build-monitoring.sh
 * builds into ${HDE_CACHE_DIR:-~/.cache/helm-drift-exporter}/bin (`bash scripts/build-monitoring.sh
 * --print-path` prints it). Without either, the promtool tests fail and say what to run.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  ALERT_NAMES,
  anchor,
  buildRules,
  COMMITTED,
  PROFILES,
  RECORD,
  renderRules,
  rulesPath,
  type AlertingRule,
  type Rule,
  type RuleFile,
} from "./generate.ts";
import { UIDS } from "../grafana/generate.ts";
import { documentedMetrics } from "../test/support/metrics-text.ts";
import { headingAnchors, metricNames, promtool, repoRoot } from "./tools.ts";

const testsDir = path.join(path.dirname(rulesPath), "tests");
const committed = await Promise.all(
  COMMITTED.map(async ({ file, selection }) => ({ file, selection, text: await readFile(file, "utf8") })),
);
const rules: RuleFile = { groups: committed.flatMap(({ text }) => (parse(text) as RuleFile).groups) };
const allRules: Rule[] = rules.groups.flatMap((g) => g.rules);
const alerts = allRules.filter((r): r is AlertingRule => "alert" in r);
const recorded = new Set(allRules.flatMap((r) => ("record" in r ? [r.record] : [])));

describe("alerts/*.rules.yaml", () => {
  it("are what alerts/generate.ts makes (run `node alerts/generate.ts` after changing it)", async () => {
    for (const { file, selection, text } of committed)
      assert.equal(text, await renderRules(PROFILES.default, selection), file);
  });

  it("pass promtool check rules", async () => {
    const { code, output } = await promtool(["check", "rules", ...committed.map(({ file }) => file)]);
    assert.equal(code, 0, output);
  });

  it("passes the promtool unit tests in alerts/tests", async () => {
    const files = (await readdir(testsDir)).filter((f) => f.endsWith(".yaml")).sort();
    assert.ok(files.length > 0);
    const { code, output } = await promtool(["test", "rules", ...files], testsDir);
    assert.equal(code, 0, output);
  });

  it("has a unit test for every alert and every recording rule", async () => {
    const tested = new Set<string>();
    for (const file of await readdir(testsDir)) {
      if (!file.endsWith(".yaml")) continue;
      const doc = parse(await readFile(path.join(testsDir, file), "utf8")) as {
        tests: {
          alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
          promql_expr_test?: { expr: string }[];
        }[];
      };
      for (const test of doc.tests) {
        // An alert counts as tested when it is seen both firing and quiet.
        for (const t of test.alert_rule_test ?? [])
          tested.add(`${t.alertname}/${t.exp_alerts.length > 0 ? "fires" : "quiet"}`);
        for (const t of test.promql_expr_test ?? []) for (const name of metricNames(t.expr)) tested.add(name);
      }
    }
    const missing = [...alerts.flatMap((a) => [`${a.alert}/fires`, `${a.alert}/quiet`]), ...recorded].filter(
      (name) => !tested.has(name),
    );
    assert.deepEqual(missing, []);
  });

  it("keeps groups to at most 20 rules", () => {
    for (const group of rules.groups)
      assert.ok(group.rules.length <= 20, `${group.name}: ${group.rules.length} rules`);
  });

  it("names alerts in CamelCase starting with Helm, recording rules level:metric:operation", () => {
    for (const a of alerts) assert.match(a.alert, /^Helm(?:[A-Z][a-z0-9]*)+$/);
    for (const name of recorded) assert.match(name, /^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$/);
  });

  it("gives every alert a severity, a summary, a description and a runbook in docs/runbooks.md", async () => {
    const anchors = headingAnchors(
      await readFile(path.join(repoRoot, "docs", "runbooks.md"), "utf8"),
      anchor,
    );
    const base = PROFILES.default.runbookBaseUrl;
    for (const a of alerts) {
      assert.ok(["critical", "warning", "info"].includes(a.labels.severity ?? ""), `${a.alert}: severity`);
      assert.ok(a.annotations.summary.length > 0, `${a.alert}: summary`);
      assert.doesNotMatch(a.annotations.summary, /\{\{/, `${a.alert}: summary is static`);
      assert.ok(a.annotations.description.length > 0, `${a.alert}: description`);
      const [url, fragment] = a.annotations.runbook_url.split("#");
      assert.equal(url, base, `${a.alert}: runbook_url`);
      assert.ok(
        fragment !== undefined && anchors.has(fragment),
        `${a.alert}: no heading for #${String(fragment)}`,
      );
      if (a.expr.includes("namespace, release")) {
        assert.match(
          a.annotations.description,
          /\{\{ \$labels\.namespace \}\}\/\{\{ \$labels\.release \}\}/,
          a.alert,
        );
      }
    }
  });

  it("reads only metrics of docs/metrics.md, up, and its own recording rules", async () => {
    const documented = new Set(
      documentedMetrics(await readFile(path.join(repoRoot, "docs", "metrics.md"), "utf8")).keys(),
    );
    assert.ok(documented.has("helm_release_status") && documented.size > 20, "docs/metrics.md table parsed");
    for (const rule of allRules) {
      const name = "alert" in rule ? rule.alert : rule.record;
      for (const metric of metricNames(rule.expr)) {
        assert.ok(
          documented.has(metric) || metric === "up" || recorded.has(metric),
          `${name} reads ${metric}`,
        );
      }
    }
  });

  it("pages (critical) only for what blocks a deploy; the drift SLO alerts are opt-in and at most warning", () => {
    // Add an alert here only when helm refuses to upgrade or roll back because of what it reports.
    // HelmReleaseRollbackBlocked is not one: the release runs, deploys work, only the way back is
    // broken, a ticket to fix before it is needed.
    const blocksDeploys = ["HelmReleasePendingStuck", "HelmReleaseUpgradeBlocked"];
    assert.deepEqual(
      alerts.filter((a) => a.labels.severity === "critical").map((a) => a.alert),
      blocksDeploys,
    );
    const [main] = committed;
    const defaultOn = (parse(main?.text ?? "") as RuleFile).groups.flatMap((g) => g.rules);
    assert.ok(!defaultOn.some((r) => "alert" in r && r.labels.slo !== undefined), "SLO alerts are opt-in");
    const sloAlerts = alerts.filter((a) => a.labels.slo !== undefined);
    assert.ok(sloAlerts.length > 0);
    for (const a of sloAlerts) {
      assert.ok(["warning", "info"].includes(a.labels.severity ?? ""), a.alert);
      assert.match(a.expr, /and on \(cluster, job\)\s+helm_release:drift_sli_total:count >= 10$/, a.alert);
    }
  });

  it("keeps the cluster label and the job in every aggregation, and links a dashboard", () => {
    const uids: string[] = Object.values(UIDS);
    for (const rule of allRules) {
      const name = "alert" in rule ? rule.alert : rule.record;
      for (const [, labels] of rule.expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)) {
        assert.match(labels ?? "", /^cluster, job\b/, `${name}: ${rule.expr}`);
      }
      if (!("alert" in rule)) continue;
      const url = /^\/d\/([a-z-]+)\?var-cluster=\{\{ \$labels\.cluster \| urlquery \}\}&var-job=/.exec(
        rule.annotations.dashboard_url,
      );
      assert.ok(
        url?.[1] !== undefined && uids.includes(url[1]),
        `${name}: ${rule.annotations.dashboard_url}`,
      );
      if (rule.expr.includes("namespace, release"))
        assert.match(rule.annotations.dashboard_url, /&var-namespace=.*&var-release=/, name);
    }
  });

  it("selects the exporter's job in every expression", () => {
    const sel = PROFILES.default.selector;
    for (const rule of allRules) {
      for (const [selector, matchers] of rule.expr.matchAll(/\b[a-z_]+\{([^}]*)\}/g)) {
        assert.ok(matchers?.startsWith(sel), `${selector} lacks ${sel}`);
      }
    }
  });
});

describe("alerts/generate.ts", () => {
  it("writes the fast profile from the same rules, with short for and thresholds, promtool-clean", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hde-alerts-"));
    try {
      const out = path.join(dir, "fast.rules.yaml");
      await writeFile(out, await renderRules(PROFILES.fast));
      const fast = parse(await readFile(out, "utf8")) as RuleFile;
      const names = (f: RuleFile) =>
        f.groups.flatMap((g) => g.rules.map((r) => ("alert" in r ? r.alert : r.record)));
      assert.deepEqual(names(fast), names(parse(committed[0]?.text ?? "") as RuleFile));
      for (const r of fast.groups.flatMap((g) => g.rules))
        if ("alert" in r) assert.equal(r.for, "30s", r.alert);
      const { code, output } = await promtool(["check", "rules", out]);
      assert.equal(code, 0, output);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("puts the cluster label into every aggregation and the dashboard links", () => {
    const custom = buildRules(
      { ...PROFILES.default, clusterLabel: "k8s_cluster", grafanaUrl: "https://g.example" },
      "all",
    );
    for (const rule of custom.groups.flatMap((g) => g.rules)) {
      for (const [, labels] of rule.expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g))
        assert.match(labels ?? "", /^k8s_cluster, job\b/);
      if ("alert" in rule) {
        assert.match(rule.annotations.dashboard_url, /^https:\/\/g\.example\/d\/.*\$labels\.k8s_cluster /);
      }
    }
  });

  it("overrides `for` per alert, in the rule and in its description", () => {
    const custom = buildRules({ ...PROFILES.default, for: { HelmReleaseDrifted: "4h" } });
    const drifted = custom.groups
      .flatMap((g) => g.rules)
      .find((r) => "alert" in r && r.alert === "HelmReleaseDrifted");
    assert.ok(drifted && "alert" in drifted);
    assert.equal(drifted.for, "4h");
    assert.match(drifted.annotations.description, /for more than 4h:/);
    assert.ok(ALERT_NAMES.includes("HelmReleaseDrifted"));
  });

  it("puts the selector into every expression", () => {
    const custom = buildRules({ ...PROFILES.default, selector: 'job="hde", cluster="prod"' });
    for (const rule of custom.groups.flatMap((g) => g.rules)) {
      if (rule.expr.includes("{")) assert.match(rule.expr, /job="hde", cluster="prod"/);
      assert.doesNotMatch(rule.expr, /helm-drift-exporter/);
    }
    assert.match(RECORD.errorRatio("5m"), /^helm_release:drift_error:ratio_rate5m$/);
  });

  it("computes the GitHub anchors of runbook headings", () => {
    assert.equal(anchor("HelmReleaseDrifted"), "helmreleasedrifted");
    assert.equal(anchor("The drift SLO"), "the-drift-slo");
    assert.equal(anchor("Before you start: `scan` (v2)"), "before-you-start-scan-v2");
  });
});

describe("alerts/tools.ts metricNames", () => {
  it("finds metric names and skips functions, labels, grouping, durations and keywords", () => {
    assert.deepEqual(
      metricNames(
        'time() - max by (job, namespace) (a_b{x="y{z}", w=~"v"}) * on (job) group_left (status) max(c:d:e[5m] offset 1h) > 0.5 and bool f or vector(1)',
      ),
      ["a_b", "c:d:e", "f"],
    );
    assert.deepEqual(metricNames('absent(up{job="x"} == 1)'), ["up"]);
  });
});
