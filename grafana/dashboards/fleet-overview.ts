/**
 * Fleet overview: every Helm release the exporter sees: status, rollback readiness, drift, hooks,
 * leftovers, and the drift SLO.
 */
import {
  CLUSTER_LABEL,
  dashboard,
  EXPORTER_LEGEND,
  NAMESPACE,
  RECORDED,
  RELEASE,
  RELEASE_BY,
  UIDS,
  type Json,
  type JsonObject,
} from "../lib/dashboard.ts";
import { Layout, problem, statusOverrides, unitOverride, warning } from "../lib/panels.ts";
import { variables } from "../lib/variables.ts";

/** A data link from a table row with `namespace` and `release` columns to the release detail. */
const releaseLink: Json[] = [
  {
    title: "Release detail",
    url: `/d/${UIDS.release}/?\${datasource:queryparam}&\${cluster:queryparam}&\${job:queryparam}&var-namespace=\${__data.fields.namespace}&var-release=\${__data.fields.release}&\${__url_time_range}`,
  },
];
/** Releases counted by the status of their latest revision; the bar gauge and the time series share it. */
const releasesByStatus = [
  {
    expr: `count by (status) (max by (${RELEASE_BY}, status) (helm_release_status{${RELEASE}}) == 1)`,
    legend: "{{status}}",
  },
];

/**
 * Share of releases free of drift: 1 - releases with a drifted object / releases checked for
 * drift (those with drift series: not uninstalled, base revision readable). The same SLI as the
 * recording rules `helm_release:drift_sli_*`, computed from raw series so that it follows the
 * namespace and release filters and needs no recording rules.
 */
const driftFreeShare = `1 - (
  (count(sum by (${RELEASE_BY}) (helm_release_drifted_resources{${RELEASE}}) > 0) or vector(0))
  /
  count(sum by (${RELEASE_BY}) (helm_release_drifted_resources{${RELEASE}}))
)`;

/**
 * Releases whose bare `helm rollback` would fail, as HelmReleaseRollbackBlocked counts them: a
 * release with one stored revision has nothing to roll back to by design and is left out.
 */
const rollbackBlocked = (expr: string) => `${expr}
  unless on (${RELEASE_BY})
    (max by (${RELEASE_BY}) (helm_release_revisions{${RELEASE}}) == 1)`;
const rollbackNotReady = rollbackBlocked(
  `max by (${RELEASE_BY}) (helm_release_rollback_ready{${RELEASE}}) == 0`,
);

const RECORDING_RULES =
  "Needs the recording rules of alerts/helm-drift-exporter.rules.yaml; they aggregate per cluster and job, so the instance, namespace and release filters do not apply.";

export function fleetOverview(): JsonObject {
  const sumBy = (metric: string, label: string, extra = "") =>
    `sum by (${label}) (max by (${RELEASE_BY}, ${label}) (${metric}{${RELEASE}${extra}}))`;
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
      targets: [{ expr: `count(max by (${RELEASE_BY}) (helm_release_status{${RELEASE}}))` }],
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
        {
          expr: `sum(max by (${RELEASE_BY}) (helm_release_status{${RELEASE}, status="failed"}))`,
        },
      ],
    })
    .add({
      kind: "stat",
      title: "Pending releases",
      description:
        "Releases whose latest revision is pending-install, pending-upgrade or pending-rollback: helm refuses to upgrade them while an operation seems in progress (a rollback is the way out).",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 4,
      targets: [
        {
          expr: `sum(max by (${RELEASE_BY}) (helm_release_status{${RELEASE}, status=~"pending-.*"}))`,
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
          expr: `count(sum by (${RELEASE_BY}) (helm_release_drifted_resources{${RELEASE}}) > 0) or vector(0)`,
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
          expr: `count(max by (${RELEASE_BY}) (helm_release_unreadable{${RELEASE}}) == 1) or vector(0)`,
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
        {
          expr: `sum(max by (${RELEASE_BY}, reason) (helm_release_unchecked_resources{${RELEASE}}))`,
        },
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
      columns: {
        cluster: "Cluster",
        namespace: "Namespace",
        release: "Release",
        status: "Status",
        Value: "Pending for",
      },
      sortBy: "Value",
      targets: [
        {
          expr: `(time() - max by (${RELEASE_BY}) (helm_release_last_deployed_timestamp_seconds{${RELEASE}}))
  * on (${RELEASE_BY}) group_left (status)
    (max by (${RELEASE_BY}, status) (helm_release_status{${RELEASE}, status=~"pending-.*"}) == 1)`,
        },
      ],
    })
    .row("Rollback readiness")
    .add({
      kind: "stat",
      title: "Rollbacks that would fail",
      description:
        "Releases whose bare helm rollback would fail now, or could not be fully checked (helm_release_rollback_ready == 0). Releases with a single stored revision have nothing to roll back to by design and are not counted. Releases not checked have no series.",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 8,
      targets: [
        {
          expr: `count(${rollbackNotReady}) or vector(0)`,
        },
      ],
    })
    .add({
      kind: "stat",
      title: "Upgrades blocked",
      description:
        "Releases whose helm upgrade fails before it starts: pending (another operation in progress), no_deployed, or api_not_served (the revision it starts from uses an API the cluster no longer serves). Every deploy of them fails.",
      unit: "none",
      steps: problem(),
      w: 4,
      h: 8,
      targets: [
        {
          expr: `count(max by (${RELEASE_BY}) (helm_release_upgrade_blocked{${RELEASE}}) == 1) or vector(0)`,
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Rollbacks that would fail, by reason",
      description:
        "Releases whose bare helm rollback would fail, by reason: no_target, api_not_served, immutable_field, ssa_conflict, hook_conflict, ownership, namespace_terminating, target_failed, unchecked (could not check). A release counts once per reason it has. Single-revision releases are left out.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 8,
      h: 8,
      targets: [
        {
          expr: `count by (reason) (${rollbackBlocked(`max by (${RELEASE_BY}, reason) (helm_release_rollback_blockers{${RELEASE}}) > 0`)})`,
          legend: "{{reason}}",
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Upgrades blocked, by reason",
      description:
        "Releases whose helm upgrade fails before it starts, by reason: pending, no_deployed, api_not_served, namespace_terminating; unchecked: could not check (unknown, not blocked).",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 8,
      h: 8,
      targets: [
        {
          expr: `count by (reason) (max by (${RELEASE_BY}, reason) (helm_release_upgrade_blocked{${RELEASE}}) == 1)`,
          legend: "{{reason}}",
        },
      ],
    })
    .add({
      kind: "table",
      title: "Releases whose rollback would fail",
      description:
        "Releases whose bare helm rollback would fail: its blockers (objects or revisions), the revision it would go back to, and stored revisions that use an API the cluster no longer serves. Helm's errors: helm-drift-exporter diagnose, or the JSON's rollback block. Click a row for the release detail.",
      unit: "none",
      w: 24,
      h: 8,
      links: releaseLink,
      columns: {
        cluster: "Cluster",
        namespace: "Namespace",
        release: "Release",
        "Value #A": "Blockers",
        "Value #B": "Target revision",
        "Value #C": "Revisions on unserved APIs",
      },
      sortBy: "Value #A",
      targets: [
        {
          expr: rollbackBlocked(
            `sum by (${RELEASE_BY}) (max by (${RELEASE_BY}, reason) (helm_release_rollback_blockers{${RELEASE}})) > 0`,
          ),
        },
        {
          expr: `max by (${RELEASE_BY}) (helm_release_rollback_target_revision{${RELEASE}})
  and on (${RELEASE_BY})
    (${rollbackNotReady})`,
        },
        {
          expr: `max by (${RELEASE_BY}) (helm_release_unserved_api_revisions{${RELEASE}})
  and on (${RELEASE_BY})
    (${rollbackNotReady})`,
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
        cluster: "Cluster",
        namespace: "Namespace",
        release: "Release",
        "Value #A": "Drifted objects",
        "Value #B": "Drifted fields",
        "Value #C": "Drifted for",
      },
      sortBy: "Value #A",
      targets: [
        {
          expr: `sum by (${RELEASE_BY}) (max by (${RELEASE_BY}, reason) (helm_release_drifted_resources{${RELEASE}})) > 0`,
        },
        {
          expr: `max by (${RELEASE_BY}) (helm_release_drifted_fields{${RELEASE}})
  and on (${RELEASE_BY})
    (sum by (${RELEASE_BY}) (helm_release_drifted_resources{${RELEASE}}) > 0)`,
        },
        {
          expr: `time() - max by (${RELEASE_BY}) (helm_release_drift_since_timestamp_seconds{${RELEASE}})`,
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
          expr: `max by (${CLUSTER_LABEL}, namespace) (helm_orphaned_hook_resources{${NAMESPACE}})`,
          legend: `{{namespace}} {{${CLUSTER_LABEL}}}`,
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
          expr: `sum(max by (${RELEASE_BY}) (helm_release_terminating_resources{${RELEASE}}))`,
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
        {
          expr: `helm_release:drift_error_budget_remaining:ratio30d{${RECORDED}}`,
          legend: EXPORTER_LEGEND,
        },
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
        {
          expr: `helm_release:drift_error:ratio_rate1h{${RECORDED}}`,
          legend: `1h ${EXPORTER_LEGEND}`,
        },
        {
          expr: `helm_release:drift_error:ratio_rate1d{${RECORDED}}`,
          legend: `1d ${EXPORTER_LEGEND}`,
        },
        {
          expr: `helm_release:drift_error:ratio_rate30d{${RECORDED}}`,
          legend: `30d ${EXPORTER_LEGEND}`,
        },
      ],
    });
  return dashboard({
    uid: UIDS.fleet,
    title: "Fleet overview",
    description:
      "Every Helm release the exporter sees: status, rollback readiness, drift, hooks, leftovers, and the drift SLO.",
    layout,
    variables: variables({ multiRelease: true }),
  });
}
