/**
 * The alerting and recording rules of helm-drift-exporter, as data: one entry per rule, in
 * groups. A new alert is one more entry in a group (or one more group); generate.ts renders them.
 *
 * Every tunable part is a placeholder, `@@name@@` (see PARAMS): the selector of the exporter's
 * series, the cluster label, the thresholds, the SLO objective, the runbook and Grafana URLs,
 * and each alert's own `for` duration (`@@for@@`, so that its description says what it waits
 * for). generate.ts fills them in from a Profile; the Helm chart's PrometheusRule template fills
 * them in from its values (charts/helm-drift-exporter/files/prometheus-rules.yaml is this file's
 * output with the placeholders left in). `@@` appears in no PromQL and no Prometheus template.
 *
 * Release alerts aggregate the scrape's own labels away (`max by (cluster, job, namespace,
 * release)`), so an exporter restart on a new pod does not restart their `for`, and two replicas
 * alert once. Exporter alerts are per target: they are about one.
 */
import { UIDS } from "../grafana/lib/dashboard.ts";

export type Severity = "critical" | "warning" | "info";

/** What the `dashboard_url` annotation opens, and which of the alert's labels it carries. */
export type DashboardLink = "release" | "namespace" | "exporter" | "fleet";

export interface AlertSpec {
  alert: string;
  severity: Severity;
  /** Default `for`; a Profile (or the chart's values) may override it per alert. */
  for: string;
  expr: string;
  /** Static: no template, so that grouped notifications read well. */
  summary: string;
  description: string;
  dashboard: DashboardLink;
  /** Extra labels, fixed (e.g. `slo`). */
  labels?: Record<string, string>;
}

export interface RecordSpec {
  record: string;
  expr: string;
}

export type RuleSpec = AlertSpec | RecordSpec;

export interface GroupSpec {
  name: string;
  /** Off unless asked for: rendered into the optional rule file, disabled in the chart's values. */
  optIn?: true;
  rules: RuleSpec[];
}

/** Thresholds the expressions compare with, and their defaults. All numbers. */
export const THRESHOLDS = {
  /** Age of the served scan, in seconds, after which its data is stale. */
  staleDataSeconds: 1200,
  /** Seconds in pending-install/-upgrade/-rollback, counted from last_deployed. */
  pendingSeconds: 1800,
  /** Consecutive failed revisions. */
  failedRevisions: 3,
  /** Seconds a hook has been recorded as running. */
  hookRunningSeconds: 1800,
  /** Releases an exporter must see before the drift SLO alerts may fire: in a small fleet one drifted release is a large share. */
  sloMinReleases: 10,
} as const satisfies Record<string, number>;

export type ThresholdName = keyof typeof THRESHOLDS;

/** Every placeholder, by name. The values of each come from generate.ts's Profile. */
export const PARAMS = {
  /** Label matchers of the exporter's series, without braces: `job="helm-drift-exporter"`. */
  selector: "@@selector@@",
  /** The label that tells clusters apart in a central Prometheus (the mixins' `clusterLabel`). */
  cluster: "@@clusterLabel@@",
  /** The alert's own `for`. */
  for: "@@for@@",
  runbookBaseUrl: "@@runbookBaseUrl@@",
  /** Grafana's root URL, no trailing slash; empty for links relative to it. */
  grafanaUrl: "@@grafanaUrl@@",
  sloObjective: "@@sloObjective@@",
  /** 1 - objective. */
  sloErrorBudget: "@@sloErrorBudget@@",
  sloObjectivePercent: "@@sloObjectivePercent@@",
  sloErrorBudgetPercent: "@@sloErrorBudgetPercent@@",
  ...(Object.fromEntries(Object.keys(THRESHOLDS).map((name) => [name, `@@${name}@@`])) as Record<
    ThresholdName,
    string
  >),
} as const;

const { selector: sel, cluster } = PARAMS;
const t = PARAMS;

/** Recording rule names (level:metric:operation). */
export const RECORD = {
  total: "helm_release:drift_sli_total:count",
  errors: "helm_release:drift_sli_errors:count",
  errorRatio: (w: Window) => `helm_release:drift_error:ratio_rate${w}`,
  objective: "helm_release:drift_objective:ratio",
  budgetRemaining: "helm_release:drift_error_budget_remaining:ratio30d",
} as const;

/** The drift SLO's windows: the burn-rate pairs below use all but 30d, the error budget 30d. */
export const SLO_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"] as const;
export type Window = (typeof SLO_WINDOWS)[number];

/** The period the error budget is counted over (the `30d` window). */
const SLO_PERIOD_DAYS = 30;

interface BurnPair {
  long: Window;
  short: Window;
  factor: number;
}

/** Multiwindow, multi-burn-rate alerts as in the Google SRE workbook (and sloth, pyrra). */
const BURN_RATES = {
  fast: [
    { long: "1h", short: "5m", factor: 14.4 },
    { long: "6h", short: "30m", factor: 6 },
  ],
  slow: [
    { long: "1d", short: "2h", factor: 3 },
    { long: "3d", short: "6h", factor: 1 },
  ],
} as const satisfies Record<string, readonly BurnPair[]>;

/** Labels one exporter's series are told apart by, across clusters. */
const EXPORTER = `${cluster}, job`;
/** Labels one release is told apart by, across exporters and clusters. */
const RELEASE = `${EXPORTER}, namespace, release`;
const where = "{{ $labels.namespace }}/{{ $labels.release }}";
/**
 * The alert's release's rollback blockers with a count, `ssa_conflict (2), unchecked (1)`: a query
 * from the template, since one alert per release (not per reason) keeps its `for` when a reason
 * comes or goes.
 */
const rollbackBlockers = [
  `{{ with printf \`max by (reason) (helm_release_rollback_blockers{${sel}, ${cluster}="%s", job="%s", namespace="%s", release="%s"}) > 0\``,
  ` $labels.${cluster} $labels.job $labels.namespace $labels.release | query | sortByLabel "reason" }}`,
  `{{ range $i, $blocker := . }}{{ if $i }}, {{ end }}{{ $blocker.Labels.reason }} ({{ $blocker.Value }}){{ end }}`,
  `{{ else }}none recorded{{ end }}`,
].join("");
const on = (extra: string) => `${sel}, ${extra}`;

// ---------------------------------------------------------------------------------------------

const exporter: GroupSpec = {
  name: "helm-drift-exporter",
  rules: [
    {
      alert: "HelmDriftExporterDown",
      severity: "warning",
      for: "5m",
      // Per target: `absent(up == 1)` alone stays silent while one of several exporters is down.
      // absent() covers the job not being scraped at all.
      expr: `up{${sel}} == 0\nor\nabsent(up{${sel}})`,
      summary: "helm-drift-exporter is down or not scraped.",
      description: `{{ if $labels.instance }}Target {{ $labels.instance }} of job {{ $labels.job }} has been down for ${t.for}{{ else }}No target matching up{${sel}} has been scraped for ${t.for}{{ end }}: drift, failed and stuck Helm releases go unseen.`,
      dashboard: "exporter",
    },
    {
      alert: "HelmDriftExporterScanFailing",
      severity: "warning",
      for: "15m",
      expr: `helm_drift_exporter_last_scan_success{${sel}} == 0`,
      summary: "helm-drift-exporter scans are failing.",
      description: `Scans of {{ $labels.instance }} have failed, timed out or had a collector fail for ${t.for}; it keeps serving the last complete results, which are getting old.`,
      dashboard: "exporter",
    },
    {
      alert: "HelmDriftExporterDataStale",
      severity: "warning",
      for: "5m",
      // The served scan is old, or it is recent but relied on data no longer heard from (a failed
      // scan still publishes, its releases marked stale; a partition leaves watches silent).
      expr: `(time() - helm_drift_exporter_last_scan_timestamp_seconds{${sel}} > ${t.staleDataSeconds}) or (helm_drift_exporter_data_age_seconds{${sel}} > ${t.staleDataSeconds})`,
      summary: "helm-drift-exporter serves stale data.",
      description: `The results {{ $labels.instance }} serves are {{ $value | humanizeDuration }} old (more than {{ ${t.staleDataSeconds} | humanizeDuration }}): every Helm release alert is based on them.`,
      dashboard: "exporter",
    },
  ],
};

const releases: GroupSpec = {
  name: "helm-releases",
  rules: [
    {
      alert: "HelmReleaseFailed",
      severity: "warning",
      for: "10m",
      expr: `max by (${RELEASE}) (helm_release_status{${on('status="failed"')}}) == 1`,
      summary: "The latest revision of a Helm release failed.",
      description: `The latest revision of release ${where} is in status failed: the cluster may run a mix of the old and the new revision until an upgrade or rollback succeeds.`,
      dashboard: "release",
    },
    {
      alert: "HelmReleaseFailedRepeatedly",
      severity: "warning",
      for: "10m",
      expr: `max by (${RELEASE}) (helm_release_failed_revisions{${sel}}) >= ${t.failedRevisions}`,
      summary: "A Helm release failed several upgrades in a row.",
      description: `Release ${where} has {{ $value }} consecutive failed revisions since its last successful one: retrying the same upgrade does not help.`,
      dashboard: "release",
    },
    {
      // Pages: helm refuses every upgrade of the release (a rollback is the way out).
      alert: "HelmReleasePendingStuck",
      severity: "critical",
      for: "5m",
      expr: [
        `(`,
        `  time() - max by (${RELEASE}) (helm_release_last_deployed_timestamp_seconds{${sel}})`,
        `)`,
        `  * on (${RELEASE}) group_left (status)`,
        `    max by (${RELEASE}, status) (`,
        `      helm_release_status{${on('status=~"pending-install|pending-upgrade|pending-rollback"')}} == 1`,
        `    )`,
        `> ${t.pendingSeconds}`,
      ].join("\n"),
      summary: "A Helm release is stuck in a pending state.",
      description: `Release ${where} has been {{ $labels.status }} for {{ $value | humanizeDuration }} (more than {{ ${t.pendingSeconds} | humanizeDuration }}): helm refuses every upgrade of it ("another operation (install/upgrade/rollback) is in progress") until it is resolved.`,
      dashboard: "release",
    },
    {
      // One stored revision (a first install, or --history-max 1) has nothing to roll back to by
      // design: no_target there is not news, and would alert for every new release.
      alert: "HelmReleaseRollbackBlocked",
      severity: "warning",
      for: "15m",
      expr: [
        `max by (${RELEASE}) (helm_release_rollback_ready{${sel}}) == 0`,
        `unless on (${RELEASE})`,
        `  max by (${RELEASE}) (helm_release_revisions{${sel}}) == 1`,
      ].join("\n"),
      summary: "A bare helm rollback of a Helm release would fail.",
      description: `A bare helm rollback of release ${where} would fail, or could not be fully checked, for more than ${t.for}. Blockers by reason: ${rollbackBlockers}. The error Helm would print and what the failure would leave behind are in the exporter's JSON (rollback.blockers).`,
      dashboard: "release",
    },
    {
      // reason="unchecked" is not a blocker (HelmDriftExporter* alerts say what could not be read).
      // reason="pending" is HelmReleasePendingStuck's: every upgrade is pending while it runs, and
      // that alert counts from the record's time, past a threshold, so it pages once, for what is
      // stuck. An uninstalled release (helm uninstall --keep-history) is gone on purpose, and
      // helm upgrade --install installs it again.
      alert: "HelmReleaseUpgradeBlocked",
      severity: "critical",
      for: "15m",
      expr: [
        `max by (${RELEASE}, reason) (helm_release_upgrade_blocked{${on('reason!~"pending|unchecked"')}}) == 1`,
        `unless on (${RELEASE})`,
        `  max by (${RELEASE}) (helm_release_status{${on('status="uninstalled"')}}) == 1`,
      ].join("\n"),
      summary: "helm upgrade of a Helm release fails before it starts.",
      description: `helm upgrade of release ${where} fails before it starts ({{ $labels.reason }}{{ if eq $labels.reason "api_not_served" }}: the revision it starts from uses an API version the cluster no longer serves{{ else if eq $labels.reason "no_deployed" }}: no revision is deployed to start from{{ end }}), for more than ${t.for}: every deploy of it, fixes included, is refused until this is resolved.`,
      dashboard: "release",
    },
    {
      alert: "HelmReleaseUnreadable",
      severity: "warning",
      for: "15m",
      expr: `max by (${RELEASE}, reason) (helm_release_unreadable{${sel}}) == 1`,
      summary: "A Helm release record cannot be read.",
      description: `The latest release record of ${where} cannot be decoded ({{ $labels.reason }}): its status, drift and hooks are not checked, and helm itself may fail on it.`,
      dashboard: "release",
    },
    {
      alert: "HelmReleaseDrifted",
      severity: "warning",
      for: "30m",
      // Fields a person added where the chart declares none count too: no upgrade reverts them,
      // so they are the hotfixes that are forgotten.
      expr: `sum by (${RELEASE}) (helm_release_drifted_resources{${on('reason=~"modified|added"')}}) > 0`,
      summary: "A Helm release's objects were changed outside Helm.",
      description: `Objects of release ${where} changed outside Helm, or given fields the chart does not declare, for more than ${t.for}: {{ $value }}. The next helm upgrade or rollback may undo those changes, fail, or leave hand-made fields no one remembers.`,
      dashboard: "release",
    },
    {
      alert: "HelmReleaseResourceMissing",
      severity: "warning",
      for: "15m",
      expr: `max by (${RELEASE}) (helm_release_drifted_resources{${on('reason="missing"')}}) > 0`,
      summary: "Objects of a Helm release are missing from the cluster.",
      description: `Objects of release ${where} deleted outside Helm: {{ $value }}. What they provide is gone, and helm does not recreate them before the next upgrade.`,
      dashboard: "release",
    },
    {
      alert: "HelmReleaseUncheckedResources",
      severity: "warning",
      for: "30m",
      expr: `max by (${RELEASE}, reason) (helm_release_unchecked_resources{${sel}}) > 0`,
      summary: "helm-drift-exporter cannot check some objects of a Helm release.",
      description: `Objects of release ${where} the exporter could not compare with the cluster ({{ $labels.reason }}): {{ $value }}. Their drift is unknown, not in sync.`,
      dashboard: "release",
    },
  ],
};

const hooks: GroupSpec = {
  name: "helm-hooks",
  rules: [
    {
      alert: "HelmReleaseOrphanedHookResources",
      severity: "warning",
      for: "30m",
      expr: `max by (${RELEASE}, reason) (helm_release_orphaned_hook_resources{${sel}}) > 0`,
      summary: "Hook objects of a Helm release were left behind.",
      description: `Hook objects of release ${where} left in the cluster ({{ $labels.reason }}): {{ $value }}. The next run of those hooks may fail with "already exists".`,
      dashboard: "release",
    },
    {
      alert: "HelmUnreferencedHookResources",
      severity: "info",
      for: "1h",
      expr: `max by (${EXPORTER}, namespace) (helm_orphaned_hook_resources{${sel}}) > 0`,
      summary: "Hook objects of no stored Helm release are left in a namespace.",
      description: `Objects carrying helm.sh/hook in namespace {{ $labels.namespace }} that no stored release references: {{ $value }}. Their release was uninstalled or purged; clean them up.`,
      dashboard: "namespace",
    },
    {
      alert: "HelmReleaseHookRunningTooLong",
      severity: "warning",
      for: "5m",
      expr: `time() - min by (${RELEASE}) (helm_release_running_hook_started_timestamp_seconds{${sel}}) > ${t.hookRunningSeconds}`,
      summary: "A Helm hook has been running for too long.",
      description: `A hook of release ${where} has been recorded as running for {{ $value | humanizeDuration }} (more than {{ ${t.hookRunningSeconds} | humanizeDuration }}): it is hanging, or helm stopped watching it.`,
      dashboard: "release",
    },
    {
      alert: "HelmReleaseLeftoverResources",
      severity: "info",
      for: "1h",
      expr: `max by (${RELEASE}) (helm_release_leftover_resources{${on('reason="leftover"')}}) > 0`,
      summary: "Objects a Helm release no longer contains are left in the cluster.",
      description: `Objects annotated for release ${where} that its deployed manifest does not contain (e.g. created by a failed upgrade): {{ $value }}. They keep running, and helm uninstall may not remove them.`,
      dashboard: "release",
    },
    {
      alert: "HelmReleaseResourcesStuckTerminating",
      severity: "warning",
      for: "15m",
      expr: `max by (${RELEASE}) (helm_release_terminating_resources{${sel}}) > 0`,
      summary: "Objects of a Helm release are stuck terminating.",
      description: `Objects of release ${where} deleted but still held by finalizers: {{ $value }}. Creating them again (re-install, upgrade) fails until the finalizers are done.`,
      dashboard: "release",
    },
  ],
};

// The SLI: each scraped release is one event, good when none of its objects drifted. Counted
// per job (and cluster) so two replicas of the exporter do not double the events, and weighted
// by time.
const perRelease = `sum by (${RELEASE}) (helm_release_drifted_resources{${sel}})`;
const sloRecords: GroupSpec = {
  name: "helm-release-drift-slo",
  rules: [
    { record: RECORD.total, expr: `count by (${EXPORTER}) (${perRelease})` },
    { record: RECORD.errors, expr: `sum by (${EXPORTER}) (clamp_max(${perRelease}, 1))` },
    ...SLO_WINDOWS.map((w) => ({
      record: RECORD.errorRatio(w),
      expr: `sum_over_time(${RECORD.errors}[${w}])\n/\nsum_over_time(${RECORD.total}[${w}])`,
    })),
    { record: RECORD.objective, expr: `vector(${t.sloObjective})` },
    { record: RECORD.budgetRemaining, expr: `1 - ${RECORD.errorRatio("30d")} / ${t.sloErrorBudget}` },
  ],
};

/**
 * A burn-rate alert. Drift is hygiene, not an outage: at most `warning`, and only for a fleet of
 * at least `sloMinReleases` releases, where one `kubectl edit` is not a large share.
 */
function burnAlert(severity: Severity, forDuration: string, pairs: readonly BurnPair[], horizon: string) {
  const burning = pairs
    .map(
      ({ long, short, factor }) =>
        `(\n  ${RECORD.errorRatio(long)} > (${factor} * ${t.sloErrorBudget})\nand\n  ${RECORD.errorRatio(short)} > (${factor} * ${t.sloErrorBudget})\n)`,
    )
    .join("\nor\n");
  const longs = pairs.map((p) => p.long).join(" or ");
  const factors = pairs.map((p) => `${p.factor}x`).join(" or ");
  const days = pairs.map((p) => Math.round(SLO_PERIOD_DAYS / p.factor)).join(" or ");
  return {
    alert: "HelmReleaseDriftErrorBudgetBurn",
    severity,
    for: forDuration,
    expr: `(\n${burning}\n)\nand on (${EXPORTER})\n  ${RECORD.total} >= ${t.sloMinReleases}`,
    summary: `Helm releases drift fast enough to use up the drift error budget within ${horizon}.`,
    description: `{{ $value | humanizePercentage }} of Helm releases were drifted over the last ${longs}, where the ${t.sloObjectivePercent} objective allows ${t.sloErrorBudgetPercent}: burning the ${SLO_PERIOD_DAYS}-day error budget over ${factors} as fast as sustainable, it is gone in ${days} days.`,
    dashboard: "fleet",
    labels: { slo: "helm-release-drift" },
  } satisfies AlertSpec;
}

const sloAlerts: GroupSpec = {
  name: "helm-release-drift-slo-alerts",
  optIn: true,
  rules: [
    burnAlert("warning", "2m", BURN_RATES.fast, "days"),
    burnAlert("info", "15m", BURN_RATES.slow, "the month"),
  ],
};

/** Every group, in file order. Add a group here, or a rule to one of them. */
export const GROUPS: readonly GroupSpec[] = [exporter, releases, hooks, sloRecords, sloAlerts];

// ---------------------------------------------------------------------------------------------

/** Grafana variables each link sets, from the alert's labels. */
const LINKS: Record<DashboardLink, { uid: string; labels: readonly string[] }> = {
  release: { uid: UIDS.release, labels: ["namespace", "release"] },
  namespace: { uid: UIDS.fleet, labels: ["namespace"] },
  exporter: { uid: UIDS.health, labels: [] },
  fleet: { uid: UIDS.fleet, labels: [] },
};

/**
 * The `dashboard_url` of an alert: the dashboard that shows what fired, with the cluster, job
 * and the alert's namespace and release chosen. A label the alert does not have (no cluster label
 * in a single-cluster Prometheus) gives an empty value, which matches series without it.
 */
export function dashboardUrl(link: DashboardLink): string {
  const { uid, labels } = LINKS[link];
  const vars = [
    `var-cluster={{ $labels.${cluster} | urlquery }}`,
    "var-job={{ $labels.job | urlquery }}",
    ...labels.map((label) => `var-${label}={{ $labels.${label} }}`),
  ];
  return `${t.grafanaUrl}/d/${uid}?${vars.join("&")}`;
}

export function isAlert(rule: RuleSpec): rule is AlertSpec {
  return "alert" in rule;
}
