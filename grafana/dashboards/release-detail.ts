/**
 * Release detail: one Helm release: status and revision history, whether a rollback and an upgrade
 * would work, drift and who caused it, hooks, leftovers, stuck deletions.
 */
import { dashboard, NAMESPACE, RELEASE, UIDS, type JsonObject } from "../lib/dashboard.ts";
import { Layout, problem, statusOverrides, warning } from "../lib/panels.ts";
import { variables } from "../lib/variables.ts";

/** helm_release_rollback_ready as words. */
const rollbackMappings = [
  { type: "value", options: { "0": { text: "blocked", index: 0 }, "1": { text: "ready", index: 1 } } },
];

export function releaseDetail(): JsonObject {
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
    .row("Rollback readiness")
    .add({
      kind: "stat",
      title: "Rollback",
      description:
        "Whether a bare helm rollback of the release would succeed now: ready, or blocked (it would fail, or could not be fully checked: see the blockers). Not checked when the exporter has no readiness for it. Ready does not promise that the target's rollback hooks pass.",
      unit: "none",
      colorMode: "background",
      base: "red",
      steps: [{ value: 1, color: "green" }],
      mappings: rollbackMappings,
      noValue: "not checked",
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_rollback_ready") }],
    })
    .add({
      kind: "stat",
      title: "Rollback target revision",
      description:
        "The revision a bare helm rollback goes back to: the latest minus one, whatever its status. None when it does not exist (pruned by --history-max, or a single revision).",
      unit: "none",
      base: "blue",
      noValue: "none",
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_rollback_target_revision") }],
    })
    .add({
      kind: "stat",
      title: "Fields a rollback would revert",
      description:
        "Fields changed by hand that a successful rollback would silently set back to the target's values (client-side apply). The JSON's rollback.reverted names them and who changed them.",
      unit: "none",
      steps: warning(),
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_rollback_reverted_fields") }],
    })
    .add({
      kind: "stat",
      title: "Revisions on unserved APIs",
      description:
        "Stored revisions whose manifest or hooks use an API version the cluster no longer serves: a rollback to any of them fails and leaves the release pending-rollback.",
      unit: "none",
      steps: problem(),
      w: 4,
      h: 4,
      targets: [{ expr: one("helm_release_unserved_api_revisions") }],
    })
    .add({
      kind: "stat",
      title: "Upgrade",
      description:
        "Whether helm upgrade fails before it starts, per reason: pending (another operation in progress), no_deployed (nothing deployed to start from), api_not_served (the revision it starts from uses an API the cluster no longer serves), namespace_terminating (its namespace is being deleted). What could not be checked (reason unchecked) is unknown, not blocked, and not shown here: the exporter's JSON says what it could not read.",
      unit: "none",
      textMode: "value_and_name",
      colorMode: "background",
      steps: problem(),
      mappings: [
        {
          type: "value",
          options: { "0": { text: "no", index: 0 }, "1": { text: "blocked", index: 1 } },
        },
      ],
      noValue: "not checked",
      w: 8,
      h: 4,
      targets: [
        {
          expr: `max by (reason) (helm_release_upgrade_blocked{${RELEASE}, reason!="unchecked"})`,
          legend: "{{reason}}",
        },
      ],
    })
    .add({
      kind: "timeseries",
      title: "Rollback blockers by reason",
      description:
        "What would make a bare helm rollback fail, objects or revisions per reason, over time: no_target, api_not_served, immutable_field, ssa_conflict, hook_conflict, ownership, namespace_terminating, target_failed, unchecked (could not check). Helm's errors: helm-drift-exporter diagnose, or the JSON's rollback block.",
      unit: "none",
      decimals: 0,
      stack: true,
      w: 12,
      h: 8,
      targets: [{ expr: `${by("helm_release_rollback_blockers", "reason")} > 0`, legend: "{{reason}}" }],
    })
    .add({
      kind: "state-timeline",
      title: "Rollback over time",
      description:
        "Whether a bare helm rollback would have succeeded (ready) or failed (blocked), over time.",
      unit: "none",
      base: "red",
      steps: [{ value: 1, color: "green" }],
      mappings: rollbackMappings,
      w: 12,
      h: 8,
      targets: [{ expr: one("helm_release_rollback_ready"), legend: "rollback" }],
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
      "One Helm release: status and revision history, whether a rollback and an upgrade would work, drift and who caused it, hooks, leftovers, stuck deletions.",
    layout,
    variables: variables({ multiRelease: false }),
  });
}
