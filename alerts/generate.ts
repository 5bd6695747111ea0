/**
 * Writes the Prometheus alerting and recording rules of helm-drift-exporter from the rules in
 * rules.ts and ONE config object, a Profile: the exporter's selector, the cluster label, `for`
 * durations, thresholds, the drift SLO objective, the runbook and Grafana URLs.
 *
 *   node alerts/generate.ts                                  # rewrite the committed rule files
 *   node alerts/generate.ts --check                          # exit 1 when one is out of date
 *   node alerts/generate.ts --profile fast --out /tmp/r.yaml # short `for`s and thresholds, for live tests
 *   node alerts/generate.ts --selector 'job="hde"' --cluster-label k8s_cluster --out my.rules.yaml
 *   node alerts/generate.ts --opt-in --out my-optional.rules.yaml   # the opt-in groups (drift SLO alerts)
 *
 * The committed files are the `default` profile: helm-drift-exporter.rules.yaml holds every group
 * that is on by default, helm-drift-exporter-optional.rules.yaml the opt-in ones (the drift SLO's
 * burn-rate alerts). `fast` keeps every rule and expression shape but fires within a minute or
 * two, for end-to-end runs against a real Prometheus; it is never committed. Metric names and
 * labels are those of docs/metrics.md.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as prettier from "prettier";
import { Document } from "yaml";
import {
  GROUPS,
  isAlert,
  PARAMS,
  THRESHOLDS,
  dashboardUrl,
  type GroupSpec,
  type ThresholdName,
} from "./rules.ts";

export { RECORD, SLO_WINDOWS, type Severity } from "./rules.ts";

export const alertsDir = path.dirname(fileURLToPath(import.meta.url));
export const rulesPath = path.join(alertsDir, "helm-drift-exporter.rules.yaml");
export const optionalRulesPath = path.join(alertsDir, "helm-drift-exporter-optional.rules.yaml");

/** Everything a deployment may want to tune. Durations are Prometheus durations. */
export interface Profile {
  /** Label matchers that select the exporter's series, without braces. */
  selector: string;
  /** The label that tells clusters apart; kept in every aggregation. Absent labels do no harm. */
  clusterLabel: string;
  /** docs/runbooks.md as served; an alert's anchor is appended (`#helmreleasedrifted`). */
  runbookBaseUrl: string;
  /** Grafana's root URL for `dashboard_url`; empty: a path relative to Grafana's root. */
  grafanaUrl: string;
  /** `for` by alert name, over the rules' defaults. */
  for: Readonly<Partial<Record<string, string>>>;
  thresholds: Readonly<Record<ThresholdName, number>>;
  slo: {
    /** Share of releases free of drift, 0.99 = 99%. */
    objective: number;
  };
}

const defaultProfile: Profile = {
  selector: 'job="helm-drift-exporter"',
  clusterLabel: "cluster",
  runbookBaseUrl: "https://github.com/helm-drift-exporter/helm-drift-exporter/blob/main/docs/runbooks.md",
  grafanaUrl: "",
  for: {},
  thresholds: THRESHOLDS,
  slo: { objective: 0.99 },
};

/** Every alert's name, once (the drift SLO's two burn-rate alerts share theirs). */
export const ALERT_NAMES: readonly string[] = [
  ...new Set(GROUPS.flatMap((g) => g.rules.filter(isAlert).map((r) => r.alert))),
];

export const PROFILES = {
  default: defaultProfile,
  /** Same rules, firing fast: for end-to-end tests against a live Prometheus, never committed. */
  fast: {
    ...defaultProfile,
    for: Object.fromEntries(ALERT_NAMES.map((name) => [name, "30s"])),
    thresholds: {
      staleDataSeconds: 90,
      pendingSeconds: 60,
      failedRevisions: 2,
      hookRunningSeconds: 60,
      sloMinReleases: 1,
    },
  },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string; dashboard_url: string };
}
export interface RecordingRule {
  record: string;
  expr: string;
}
export type Rule = AlertingRule | RecordingRule;
export interface RuleGroup {
  name: string;
  rules: Rule[];
}
export interface RuleFile {
  groups: RuleGroup[];
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to '-'. */
export function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/**
 * A number as PromQL and the chart write it: up to 12 significant digits, so that 1 - 0.99 is
 * 0.01, not 0.010000000000000009. The chart's template does the same with printf "%.12g".
 */
export function decimal(n: number): string {
  return String(Number(n.toPrecision(12)));
}

/** The placeholders' values for a profile; `for` is set per alert. */
function paramValues(profile: Profile): Record<string, string> {
  const budget = 1 - profile.slo.objective;
  return {
    [PARAMS.selector]: profile.selector,
    [PARAMS.cluster]: profile.clusterLabel,
    [PARAMS.runbookBaseUrl]: profile.runbookBaseUrl,
    [PARAMS.grafanaUrl]: profile.grafanaUrl,
    [PARAMS.sloObjective]: decimal(profile.slo.objective),
    [PARAMS.sloErrorBudget]: decimal(budget),
    [PARAMS.sloObjectivePercent]: `${decimal(profile.slo.objective * 100)}%`,
    [PARAMS.sloErrorBudgetPercent]: `${decimal(budget * 100)}%`,
    ...Object.fromEntries(
      Object.entries(profile.thresholds).map(([name, value]) => [
        PARAMS[name as ThresholdName],
        decimal(value),
      ]),
    ),
  };
}

/** Replaces every `@@name@@`; an unknown one is a bug in rules.ts. */
export function fill(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/@@\w+@@/g, (placeholder) => {
    const value = values[placeholder];
    if (value === undefined) throw new Error(`no value for ${placeholder} in ${text}`);
    return value;
  });
}

/** The rules of some groups with their placeholders left in: what the chart's template fills in. */
export function buildTemplate(groups: readonly GroupSpec[] = GROUPS): RuleFile {
  return {
    groups: groups.map((group) => ({
      name: group.name,
      rules: group.rules.map((rule): Rule => {
        if (!isAlert(rule)) return { record: rule.record, expr: rule.expr };
        return {
          alert: rule.alert,
          expr: rule.expr,
          for: rule.for,
          labels: { severity: rule.severity, ...rule.labels },
          annotations: {
            summary: rule.summary,
            description: rule.description,
            runbook_url: `${PARAMS.runbookBaseUrl}#${anchor(rule.alert)}`,
            dashboard_url: dashboardUrl(rule.dashboard),
          },
        };
      }),
    })),
  };
}

/** Which groups: those on by default, the opt-in ones, or all. */
export type Selection = "default" | "opt-in" | "all";

function selected(selection: Selection): GroupSpec[] {
  return GROUPS.filter((g) => selection === "all" || (selection === "opt-in") === (g.optIn ?? false));
}

export function buildRules(profile: Profile, selection: Selection = "default"): RuleFile {
  const values = paramValues(profile);
  const template = buildTemplate(selected(selection));
  return {
    groups: template.groups.map((group) => ({
      name: group.name,
      rules: group.rules.map((rule): Rule => {
        if (!("alert" in rule)) return { record: rule.record, expr: fill(rule.expr, values) };
        const forDuration = profile.for[rule.alert] ?? rule.for ?? "0s";
        const own = { ...values, [PARAMS.for]: forDuration };
        return {
          alert: rule.alert,
          expr: fill(rule.expr, own),
          ...(forDuration === "0s" ? {} : { for: forDuration }),
          labels: rule.labels,
          annotations: {
            summary: rule.annotations.summary,
            description: fill(rule.annotations.description, own),
            runbook_url: fill(rule.annotations.runbook_url, own),
            dashboard_url: fill(rule.annotations.dashboard_url, own),
          },
        };
      }),
    })),
  };
}

const HEADER = [
  " Generated by alerts/generate.ts from alerts/rules.ts; do not edit: change them and run",
  " `node alerts/generate.ts`. Runbooks: docs/runbooks.md.",
].join("\n");

/** A rule file as YAML, formatted as prettier formats it (the repository checks that). */
export async function renderYaml(content: RuleFile, header = HEADER): Promise<string> {
  const doc = new Document(content);
  doc.commentBefore = header;
  const yaml = doc.toString({ lineWidth: 0, blockQuote: "literal" });
  const options = await prettier.resolveConfig(rulesPath);
  return prettier.format(yaml, { ...options, parser: "yaml" });
}

export async function renderRules(
  profile: Profile,
  selection: Selection = "default",
  header = HEADER,
): Promise<string> {
  return renderYaml(buildRules(profile, selection), header);
}

/** The committed files and what each holds. */
export const COMMITTED: readonly { file: string; selection: Selection }[] = [
  { file: rulesPath, selection: "default" },
  { file: optionalRulesPath, selection: "opt-in" },
];

async function writeOrCheck(file: string, text: string, check: boolean): Promise<boolean> {
  if (!check) {
    await writeFile(file, text);
    return true;
  }
  const current = await readFile(file, "utf8").catch(() => "");
  if (current === text) return true;
  process.stderr.write(`${file} is out of date: run node alerts/generate.ts\n`);
  return false;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: "string", default: "default" },
      out: { type: "string" },
      selector: { type: "string" },
      "cluster-label": { type: "string" },
      "runbook-base-url": { type: "string" },
      "grafana-url": { type: "string" },
      "opt-in": { type: "boolean", default: false },
      all: { type: "boolean", default: false },
      check: { type: "boolean", default: false },
    },
    strict: true,
  });
  const name = values.profile;
  if (!(name in PROFILES))
    throw new Error(`unknown profile ${name}: one of ${Object.keys(PROFILES).join(", ")}`);
  const overrides = {
    ...(values.selector === undefined ? {} : { selector: values.selector }),
    ...(values["cluster-label"] === undefined ? {} : { clusterLabel: values["cluster-label"] }),
    ...(values["runbook-base-url"] === undefined ? {} : { runbookBaseUrl: values["runbook-base-url"] }),
    ...(values["grafana-url"] === undefined ? {} : { grafanaUrl: values["grafana-url"] }),
  };
  const profile: Profile = { ...PROFILES[name as ProfileName], ...overrides };
  const selection: Selection = values.all ? "all" : values["opt-in"] ? "opt-in" : "default";
  const custom = name !== "default" || Object.keys(overrides).length > 0 || selection !== "default";
  if (values.out === undefined) {
    if (custom) throw new Error("the committed files hold the default profile: give --out");
    let fresh = true;
    for (const { file, selection: which } of COMMITTED)
      fresh = (await writeOrCheck(file, await renderRules(profile, which), values.check)) && fresh;
    if (!fresh) process.exitCode = 1;
    return;
  }
  const details = Object.entries(overrides).map(([key, value]) => `${key} ${value}`);
  const header = `${HEADER}\n Profile: ${[name, selection, ...details].join(", ")}.`;
  if (!(await writeOrCheck(values.out, await renderRules(profile, selection, header), values.check)))
    process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    process.stderr.write(`generate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
