/**
 * Writes the Prometheus alerting and recording rules for helm-drift-exporter from ONE config
 * object: the exporter's job selector, `for` durations, thresholds, the drift SLO objective and
 * the runbook base URL are all below, in `PROFILES`.
 *
 *   node alerts/generate.ts                                  # rewrite alerts/helm-drift-exporter.rules.yaml
 *   node alerts/generate.ts --check                          # exit 1 when that file is out of date
 *   node alerts/generate.ts --profile fast --out /tmp/r.yaml # short `for`s and thresholds, for live tests
 *   node alerts/generate.ts --selector 'job="hde",cluster="prod"' --out my.rules.yaml
 *
 * The committed file is the `default` profile. `fast` keeps every rule and expression shape but
 * fires within a minute or two, for end-to-end runs against a real Prometheus; it is never
 * committed. Metric names and labels are those of docs/metrics.md.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as prettier from "prettier";
import { Document } from "yaml";

export const alertsDir = path.dirname(fileURLToPath(import.meta.url));
export const rulesPath = path.join(alertsDir, "helm-drift-exporter.rules.yaml");

export type Severity = "critical" | "warning" | "info";

/** Everything a deployment may want to tune. Durations are Prometheus durations. */
export interface Profile {
  /** Label matchers that select the exporter's series, without braces. */
  selector: string;
  /** docs/runbooks.md as served; an alert's anchor is appended (`#helmreleasedrifted`). */
  runbookBaseUrl: string;
  for: {
    exporterDown: string;
    scanFailing: string;
    dataStale: string;
    releaseFailed: string;
    releaseFailedRepeatedly: string;
    releasePendingStuck: string;
    releaseUnreadable: string;
    releaseDrifted: string;
    resourceMissing: string;
    uncheckedResources: string;
    orphanedHooks: string;
    unreferencedHooks: string;
    hookRunningTooLong: string;
    leftoverResources: string;
    stuckTerminating: string;
    sloPage: string;
    sloTicket: string;
  };
  thresholds: {
    /** Age of the served scan, in seconds, after which its data is stale. */
    staleDataSeconds: number;
    /** Seconds in pending-install/-upgrade/-rollback, counted from last_deployed. */
    pendingSeconds: number;
    /** Consecutive failed revisions. */
    failedRevisions: number;
    /** Seconds a hook has been recorded as running. */
    hookRunningSeconds: number;
  };
  slo: {
    /** Share of releases free of drift, 0.99 = 99%. */
    objective: number;
  };
}

const defaultProfile: Profile = {
  selector: 'job="helm-drift-exporter"',
  runbookBaseUrl: "https://github.com/helm-drift-exporter/helm-drift-exporter/blob/main/docs/runbooks.md",
  for: {
    exporterDown: "5m",
    scanFailing: "15m",
    dataStale: "5m",
    releaseFailed: "10m",
    releaseFailedRepeatedly: "10m",
    releasePendingStuck: "5m",
    releaseUnreadable: "15m",
    releaseDrifted: "30m",
    resourceMissing: "15m",
    uncheckedResources: "30m",
    orphanedHooks: "30m",
    unreferencedHooks: "1h",
    hookRunningTooLong: "5m",
    leftoverResources: "1h",
    stuckTerminating: "15m",
    sloPage: "2m",
    sloTicket: "15m",
  },
  thresholds: {
    staleDataSeconds: 1200,
    pendingSeconds: 1800,
    failedRevisions: 3,
    hookRunningSeconds: 1800,
  },
  slo: { objective: 0.99 },
};

export const PROFILES = {
  default: defaultProfile,
  /** Same rules, firing fast: for end-to-end tests against a live Prometheus, never committed. */
  fast: {
    ...defaultProfile,
    for: Object.fromEntries(Object.keys(defaultProfile.for).map((k) => [k, "30s"])) as Profile["for"],
    thresholds: { staleDataSeconds: 90, pendingSeconds: 60, failedRevisions: 2, hookRunningSeconds: 60 },
  },
} as const satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;

/** The drift SLO's windows: the burn-rate pairs below use all but 30d, the error budget 30d. */
export const SLO_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"] as const;
type Window = (typeof SLO_WINDOWS)[number];

/** The period the error budget is counted over (the `30d` window). */
const SLO_PERIOD_DAYS = 30;

interface BurnPair {
  long: Window;
  short: Window;
  factor: number;
}

/** Multiwindow, multi-burn-rate alerts as in the Google SRE workbook (and sloth, pyrra). */
const BURN_RATES = {
  page: [
    { long: "1h", short: "5m", factor: 14.4 },
    { long: "6h", short: "30m", factor: 6 },
  ],
  ticket: [
    { long: "1d", short: "2h", factor: 3 },
    { long: "3d", short: "6h", factor: 1 },
  ],
} as const satisfies Record<string, readonly BurnPair[]>;

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string> & { severity: Severity };
  annotations: { summary: string; description: string; runbook_url: string };
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

/** Recording rule names (level:metric:operation). */
export const RECORD = {
  total: "helm_release:drift_sli_total:count",
  errors: "helm_release:drift_sli_errors:count",
  errorRatio: (w: Window) => `helm_release:drift_error:ratio_rate${w}`,
  objective: "helm_release:drift_objective:ratio",
  budgetRemaining: "helm_release:drift_error_budget_remaining:ratio30d",
} as const;

/** 1 - objective, without binary floating-point noise (0.010000000000000009). */
function errorBudget(objective: number): number {
  return Number((1 - objective).toPrecision(12));
}

function percent(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(12))}%`;
}

function seconds(s: number): string {
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

export function buildRules(profile: Profile): RuleFile {
  const sel = profile.selector;
  const on = (extra: string) => (extra ? `${sel}, ${extra}` : sel);
  const release = "job, namespace, release";
  const where = "{{ $labels.namespace }}/{{ $labels.release }}";
  const alert = (
    name: string,
    severity: Severity,
    forDuration: string,
    expr: string,
    summary: string,
    description: string,
  ): AlertingRule => ({
    alert: name,
    expr,
    ...(forDuration === "0s" ? {} : { for: forDuration }),
    labels: { severity },
    annotations: { summary, description, runbook_url: `${profile.runbookBaseUrl}#${anchor(name)}` },
  });
  const f = profile.for;
  const t = profile.thresholds;
  const budget = errorBudget(profile.slo.objective);

  const exporter: Rule[] = [
    alert(
      "HelmDriftExporterDown",
      "warning",
      f.exporterDown,
      `absent(up{${sel}} == 1)`,
      "helm-drift-exporter is down or not scraped.",
      `No target matching up{${sel}} has been up for ${f.exporterDown}: drift, failed and stuck Helm releases go unseen.`,
    ),
    alert(
      "HelmDriftExporterScanFailing",
      "warning",
      f.scanFailing,
      `helm_drift_exporter_last_scan_success{${sel}} == 0`,
      "helm-drift-exporter scans are failing.",
      `Scans of {{ $labels.instance }} have failed, timed out or had a collector fail for ${f.scanFailing}; it keeps serving the last complete results, which are getting old.`,
    ),
    alert(
      "HelmDriftExporterDataStale",
      "warning",
      f.dataStale,
      `time() - helm_drift_exporter_last_scan_timestamp_seconds{${sel}} > ${t.staleDataSeconds}`,
      "helm-drift-exporter serves stale data.",
      `The results {{ $labels.instance }} serves are {{ $value | humanizeDuration }} old (more than ${seconds(t.staleDataSeconds)}): every Helm release alert is based on them.`,
    ),
  ];

  const releases: Rule[] = [
    alert(
      "HelmReleaseFailed",
      "warning",
      f.releaseFailed,
      `max by (${release}) (helm_release_status{${on('status="failed"')}}) == 1`,
      "The latest revision of a Helm release failed.",
      `The latest revision of release ${where} is in status failed: the cluster may run a mix of the old and the new revision until an upgrade or rollback succeeds.`,
    ),
    alert(
      "HelmReleaseFailedRepeatedly",
      "warning",
      f.releaseFailedRepeatedly,
      `max by (${release}) (helm_release_failed_revisions{${sel}}) >= ${t.failedRevisions}`,
      "A Helm release failed several upgrades in a row.",
      `Release ${where} has {{ $value }} consecutive failed revisions since its last successful one: retrying the same upgrade does not help.`,
    ),
    alert(
      "HelmReleasePendingStuck",
      "critical",
      f.releasePendingStuck,
      [
        `(`,
        `  time() - max by (${release}) (helm_release_last_deployed_timestamp_seconds{${sel}})`,
        `)`,
        `  * on (${release}) group_left (status)`,
        `    max by (${release}, status) (`,
        `      helm_release_status{${on('status=~"pending-install|pending-upgrade|pending-rollback"')}} == 1`,
        `    )`,
        `> ${t.pendingSeconds}`,
      ].join("\n"),
      "A Helm release is stuck in a pending state.",
      `Release ${where} has been {{ $labels.status }} for {{ $value | humanizeDuration }} (more than ${seconds(t.pendingSeconds)}): helm refuses every upgrade and rollback of it ("another operation is in progress") until it is resolved.`,
    ),
    alert(
      "HelmReleaseUnreadable",
      "warning",
      f.releaseUnreadable,
      `max by (${release}, reason) (helm_release_unreadable{${sel}}) == 1`,
      "A Helm release record cannot be read.",
      `The latest release record of ${where} cannot be decoded ({{ $labels.reason }}): its status, drift and hooks are not checked, and helm itself may fail on it.`,
    ),
    alert(
      "HelmReleaseDrifted",
      "warning",
      f.releaseDrifted,
      `max by (${release}) (helm_release_drifted_resources{${on('reason="modified"')}}) > 0`,
      "A Helm release's objects were changed outside Helm.",
      `Objects of release ${where} changed outside Helm for more than ${f.releaseDrifted}: {{ $value }}. The next helm upgrade or rollback may undo those changes, or fail.`,
    ),
    alert(
      "HelmReleaseResourceMissing",
      "warning",
      f.resourceMissing,
      `max by (${release}) (helm_release_drifted_resources{${on('reason="missing"')}}) > 0`,
      "Objects of a Helm release are missing from the cluster.",
      `Objects of release ${where} deleted outside Helm: {{ $value }}. What they provide is gone, and helm does not recreate them before the next upgrade.`,
    ),
    alert(
      "HelmReleaseUncheckedResources",
      "warning",
      f.uncheckedResources,
      `max by (${release}, reason) (helm_release_unchecked_resources{${sel}}) > 0`,
      "helm-drift-exporter cannot check some objects of a Helm release.",
      `Objects of release ${where} the exporter could not compare with the cluster ({{ $labels.reason }}): {{ $value }}. Their drift is unknown, not in sync.`,
    ),
  ];

  const hooks: Rule[] = [
    alert(
      "HelmReleaseOrphanedHookResources",
      "warning",
      f.orphanedHooks,
      `max by (${release}, reason) (helm_release_orphaned_hook_resources{${sel}}) > 0`,
      "Hook objects of a Helm release were left behind.",
      `Hook objects of release ${where} left in the cluster ({{ $labels.reason }}): {{ $value }}. The next run of those hooks may fail with "already exists".`,
    ),
    alert(
      "HelmUnreferencedHookResources",
      "info",
      f.unreferencedHooks,
      `max by (job, namespace) (helm_orphaned_hook_resources{${sel}}) > 0`,
      "Hook objects of no stored Helm release are left in a namespace.",
      `Objects carrying helm.sh/hook in namespace {{ $labels.namespace }} that no stored release references: {{ $value }}. Their release was uninstalled or purged; clean them up.`,
    ),
    alert(
      "HelmReleaseHookRunningTooLong",
      "warning",
      f.hookRunningTooLong,
      `time() - min by (${release}) (helm_release_running_hook_started_timestamp_seconds{${sel}}) > ${t.hookRunningSeconds}`,
      "A Helm hook has been running for too long.",
      `A hook of release ${where} has been recorded as running for {{ $value | humanizeDuration }} (more than ${seconds(t.hookRunningSeconds)}): it is hanging, or helm stopped watching it.`,
    ),
    alert(
      "HelmReleaseLeftoverResources",
      "info",
      f.leftoverResources,
      `max by (${release}) (helm_release_leftover_resources{${on('reason="leftover"')}}) > 0`,
      "Objects a Helm release no longer contains are left in the cluster.",
      `Objects annotated for release ${where} that its deployed manifest does not contain (e.g. created by a failed upgrade): {{ $value }}. They keep running, and helm uninstall may not remove them.`,
    ),
    alert(
      "HelmReleaseResourcesStuckTerminating",
      "warning",
      f.stuckTerminating,
      `max by (${release}) (helm_release_terminating_resources{${sel}}) > 0`,
      "Objects of a Helm release are stuck terminating.",
      `Objects of release ${where} deleted but still held by finalizers: {{ $value }}. Creating them again (re-install, upgrade) fails until the finalizers are done.`,
    ),
  ];

  // The SLI: each scraped release is one event, good when none of its objects drifted. Counted
  // per job so two replicas of the exporter do not double the events, and weighted by time.
  const perRelease = `sum by (${release}) (helm_release_drifted_resources{${sel}})`;
  const slo: Rule[] = [
    { record: RECORD.total, expr: `count by (job) (${perRelease})` },
    { record: RECORD.errors, expr: `sum by (job) (clamp_max(${perRelease}, 1))` },
    ...SLO_WINDOWS.map((w): RecordingRule => ({
      record: RECORD.errorRatio(w),
      expr: `sum_over_time(${RECORD.errors}[${w}])\n/\nsum_over_time(${RECORD.total}[${w}])`,
    })),
    { record: RECORD.objective, expr: `vector(${profile.slo.objective})` },
    { record: RECORD.budgetRemaining, expr: `1 - ${RECORD.errorRatio("30d")} / ${budget}` },
  ];

  const burn = (pairs: readonly BurnPair[]) =>
    pairs
      .map(
        ({ long, short, factor }) =>
          `(\n  ${RECORD.errorRatio(long)} > (${factor} * ${budget})\nand\n  ${RECORD.errorRatio(short)} > (${factor} * ${budget})\n)`,
      )
      .join("\nor\n");
  const sloAlert = (severity: Severity, forDuration: string, pairs: readonly BurnPair[], horizon: string) => {
    const longs = pairs.map((p) => p.long).join(" or ");
    const factors = pairs.map((p) => `${p.factor}x`).join(" or ");
    const days = pairs.map((p) => Math.round(SLO_PERIOD_DAYS / p.factor)).join(" or ");
    const rule = alert(
      "HelmReleaseDriftErrorBudgetBurn",
      severity,
      forDuration,
      burn(pairs),
      `Helm releases drift fast enough to use up the drift error budget within ${horizon}.`,
      `{{ $value | humanizePercentage }} of Helm releases were drifted over the last ${longs}, where the ${percent(profile.slo.objective)} objective allows ${percent(budget)}: burning the ${SLO_PERIOD_DAYS}-day error budget over ${factors} as fast as sustainable, it is gone in ${days} days.`,
    );
    return { ...rule, labels: { ...rule.labels, slo: "helm-release-drift" } };
  };
  const sloAlerts: Rule[] = [
    sloAlert("critical", f.sloPage, BURN_RATES.page, "days"),
    sloAlert("warning", f.sloTicket, BURN_RATES.ticket, "the month"),
  ];

  return {
    groups: [
      { name: "helm-drift-exporter", rules: exporter },
      { name: "helm-releases", rules: releases },
      { name: "helm-hooks", rules: hooks },
      { name: "helm-release-drift-slo", rules: slo },
      { name: "helm-release-drift-slo-alerts", rules: sloAlerts },
    ],
  };
}

const HEADER = [
  " Generated by alerts/generate.ts from its PROFILES; do not edit: change the config there and run",
  " `node alerts/generate.ts`. Runbooks: docs/runbooks.md.",
].join("\n");

/** The rule file as YAML, formatted as prettier formats it (the repository checks that). */
export async function renderRules(profile: Profile, header = HEADER): Promise<string> {
  const doc = new Document(buildRules(profile));
  doc.commentBefore = header;
  const yaml = doc.toString({ lineWidth: 0, blockQuote: "literal" });
  const options = await prettier.resolveConfig(rulesPath);
  return prettier.format(yaml, { ...options, parser: "yaml" });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      profile: { type: "string", default: "default" },
      out: { type: "string" },
      selector: { type: "string" },
      "runbook-base-url": { type: "string" },
      check: { type: "boolean", default: false },
    },
    strict: true,
  });
  const name = values.profile;
  if (!(name in PROFILES))
    throw new Error(`unknown profile ${name}: one of ${Object.keys(PROFILES).join(", ")}`);
  const profile: Profile = {
    ...PROFILES[name as ProfileName],
    ...(values.selector === undefined ? {} : { selector: values.selector }),
    ...(values["runbook-base-url"] === undefined ? {} : { runbookBaseUrl: values["runbook-base-url"] }),
  };
  const out = values.out ?? rulesPath;
  const custom =
    name !== "default" || values.selector !== undefined || values["runbook-base-url"] !== undefined;
  if (custom && values.out === undefined) {
    throw new Error(`${path.relative(process.cwd(), rulesPath)} holds the default profile: give --out`);
  }
  const header = custom
    ? `${HEADER}\n Profile: ${name}${values.selector === undefined ? "" : `, selector ${values.selector}`}.`
    : HEADER;
  const text = await renderRules(profile, header);
  if (values.check) {
    const current = await readFile(out, "utf8").catch(() => "");
    if (current !== text) {
      process.stderr.write(`${out} is out of date: run node alerts/generate.ts\n`);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(out, text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    process.stderr.write(`generate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
