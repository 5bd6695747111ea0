/**
 * Every metric the exporter exposes, declared once. The code registers metrics only
 * from here, and a test holds docs/metrics.md to this table.
 */
export interface MetricDefinition {
  readonly name: string;
  readonly type: "gauge" | "counter";
  readonly labels: readonly string[];
  readonly help: string;
}

const RELEASE = ["namespace", "release"] as const;

export const RELEASE_METRICS = {
  info: {
    name: "helm_release_info",
    type: "gauge",
    labels: [...RELEASE, "chart", "chart_version", "app_version", "storage"],
    help: "Chart of the latest revision of a Helm release; always 1.",
  },
  status: {
    name: "helm_release_status",
    type: "gauge",
    labels: [...RELEASE, "status"],
    help: "Status of the latest revision: 1 for the current status, 0 for each of Helm's other eight statuses.",
  },
  revision: {
    name: "helm_release_revision",
    type: "gauge",
    labels: RELEASE,
    help: "Number of the latest revision.",
  },
  deployedRevision: {
    name: "helm_release_deployed_revision",
    type: "gauge",
    labels: RELEASE,
    help: "Number of the newest revision in status deployed; absent when no revision is deployed.",
  },
  revisions: {
    name: "helm_release_revisions",
    type: "gauge",
    labels: RELEASE,
    help: "Revisions stored in the release history.",
  },
  failedRevisions: {
    name: "helm_release_failed_revisions",
    type: "gauge",
    labels: RELEASE,
    help: "Consecutive failed revisions since the last successful one; 0 when the latest did not fail.",
  },
  lastDeployed: {
    name: "helm_release_last_deployed_timestamp_seconds",
    type: "gauge",
    labels: RELEASE,
    help: "Unix time the latest revision was deployed (or attempted); tells how long a release has been pending.",
  },
  unreadable: {
    name: "helm_release_unreadable",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "1 when the latest release record could not be read, with the reason (base64, gzip, too_large, json, schema, manifest). A record that could not be fetched is not unreadable: its release is served stale.",
  },
  managedResources: {
    name: "helm_release_managed_resources",
    type: "gauge",
    labels: RELEASE,
    help: "Objects in the manifest of the revision drift is checked against.",
  },
  driftedResources: {
    name: "helm_release_drifted_resources",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "Manifest objects that differ from the cluster, each counted once: reason modified (a declared field has another value), added (nothing declared differs, but a person's tool added fields the manifest does not declare) or missing (the object does not exist). All three series are always present.",
  },
  driftedFields: {
    name: "helm_release_drifted_fields",
    type: "gauge",
    labels: RELEASE,
    help: "Declared fields whose live value differs, over all modified objects.",
  },
  uncheckedResources: {
    name: "helm_release_unchecked_resources",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "Manifest objects that could not be compared: reason forbidden (RBAC), not_served (API version or kind not served), error. Unknown, never in sync.",
  },
  driftSince: {
    name: "helm_release_drift_since_timestamp_seconds",
    type: "gauge",
    labels: RELEASE,
    help: "Unix time the current drift began (earliest write of a manager that caused it); present only while drifted.",
  },
  driftManager: {
    name: "helm_release_drift_manager_resources",
    type: "gauge",
    labels: [...RELEASE, "manager"],
    help: "Drifted resources per field manager that changed them (kubectl-edit, kubectl-patch, an operator ...); unknown when no manager owns the change (deleted objects, removed fields). At most 10 managers per release, the rest as other.",
  },
  ignoredDrift: {
    name: "helm_release_ignored_drift",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "Drifted fields (or missing objects) not reported because they are meant to change: reason hpa, manager, rule or annotation.",
  },
  driftBaseRevision: {
    name: "helm_release_drift_base_revision",
    type: "gauge",
    labels: [...RELEASE, "base"],
    help: "Revision the drift is checked against: base deployed (the newest deployed revision), or latest when no revision is deployed.",
  },
  orphanedHooks: {
    name: "helm_release_orphaned_hook_resources",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "Hook objects left in the cluster: reason succeeded_not_deleted (policy hook-succeeded, run succeeded), failed_not_deleted (policy hook-failed, run failed), failed (failed run left behind). All three series always present.",
  },
  runningHooks: {
    name: "helm_release_running_hooks",
    type: "gauge",
    labels: [...RELEASE, "state"],
    help: "Hooks whose last run is recorded as Running, by what their object shows now: active (wait), complete or failed (helm stopped watching: act), missing, not_a_job. All five series always present.",
  },
  runningHookStarted: {
    name: "helm_release_running_hook_started_timestamp_seconds",
    type: "gauge",
    labels: RELEASE,
    help: "Start of the oldest hook recorded as Running; present only while one is.",
  },
  leftoverResources: {
    name: "helm_release_leftover_resources",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "Objects carrying the release's Helm annotations that its deployed manifest no longer contains: reason leftover (e.g. from a failed upgrade) or kept (helm.sh/resource-policy: keep). Also for releases that no longer exist.",
  },
  terminatingResources: {
    name: "helm_release_terminating_resources",
    type: "gauge",
    labels: RELEASE,
    help: "Release or hook objects deleted longer ago than --terminating.threshold and held by finalizers (names in the JSON output).",
  },
  rollbackReady: {
    name: "helm_release_rollback_ready",
    type: "gauge",
    labels: RELEASE,
    help: "1 when a bare `helm rollback` of the release would succeed now; 0 when it would fail or could not be fully checked.",
  },
  rollbackBlockers: {
    name: "helm_release_rollback_blockers",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "What would make a bare `helm rollback` fail, objects or revisions counted: reason no_target, api_not_served, immutable_field, ssa_conflict, hook_conflict, ownership, namespace_terminating, target_failed, or unchecked (could not check). All nine series always present.",
  },
  rollbackTargetRevision: {
    name: "helm_release_rollback_target_revision",
    type: "gauge",
    labels: RELEASE,
    help: "The revision a bare `helm rollback` goes back to (the latest minus one, whatever its status); absent when it does not exist.",
  },
  rollbackRevertedFields: {
    name: "helm_release_rollback_reverted_fields",
    type: "gauge",
    labels: RELEASE,
    help: "Fields changed by hand that a successful rollback would silently set back to the target's values.",
  },
  upgradeBlocked: {
    name: "helm_release_upgrade_blocked",
    type: "gauge",
    labels: [...RELEASE, "reason"],
    help: "1 when `helm upgrade` would fail before it starts, with the reason: pending (another operation in progress), no_deployed (no deployed revision to start from), api_not_served (the revision it starts from uses an API the cluster does not serve), namespace_terminating (the release's namespace is being deleted: helm cannot write the new revision), or unchecked (could not check: 1 is unknown, not blocked). All five series always present.",
  },
  unservedApiRevisions: {
    name: "helm_release_unserved_api_revisions",
    type: "gauge",
    labels: RELEASE,
    help: "Stored revisions whose manifest or hooks use an API version the cluster does not serve: rolling back to any of them fails.",
  },
} as const satisfies Record<string, MetricDefinition>;

export const NAMESPACE_METRICS = {
  unreferencedHooks: {
    name: "helm_orphaned_hook_resources",
    type: "gauge",
    labels: ["namespace"],
    help: "Objects carrying helm.sh/hook that no stored release references (their release was uninstalled or purged).",
  },
} as const satisfies Record<string, MetricDefinition>;

export const SCAN_METRICS = {
  lastScanTimestamp: {
    name: "helm_drift_exporter_last_scan_timestamp_seconds",
    type: "gauge",
    labels: [],
    help: "Unix time the scan whose results are served finished; its age is the age of every other metric.",
  },
  scanDuration: {
    name: "helm_drift_exporter_scan_duration_seconds",
    type: "gauge",
    labels: [],
    help: "Wall time of the last scan.",
  },
  collectorSuccess: {
    name: "helm_drift_exporter_collector_success",
    type: "gauge",
    labels: ["collector"],
    help: "1 when the collector succeeded in the last scan, else 0.",
  },
  collectorDuration: {
    name: "helm_drift_exporter_collector_duration_seconds",
    type: "gauge",
    labels: ["collector"],
    help: "Wall time of the collector in the last scan.",
  },
  releases: {
    name: "helm_drift_exporter_releases",
    type: "gauge",
    labels: [],
    help: "Releases seen by the last scan.",
  },
  dataAge: {
    name: "helm_drift_exporter_data_age_seconds",
    type: "gauge",
    labels: [],
    help: "How long before the last scan ended the oldest collection it relied on was last heard from (list, watch event, bookmark): under 90 s while watches are alive; older data is listed again.",
  },
  staleReleases: {
    name: "helm_drift_exporter_stale_releases",
    type: "gauge",
    labels: [],
    help: "Releases the last scan could not see (release storage not listed, record not fetched), served as last seen: their helm_release_* series are stale, not gone.",
  },
} as const satisfies Record<string, MetricDefinition>;

export const SELF_METRICS = {
  buildInfo: {
    name: "helm_drift_exporter_build_info",
    type: "gauge",
    labels: ["version", "node_version"],
    help: "Version of the exporter and of the Node.js runtime; always 1.",
  },
  lastScanSuccess: {
    name: "helm_drift_exporter_last_scan_success",
    type: "gauge",
    labels: [],
    help: "1 when the most recent scan attempt succeeded in full; 0 when it failed, timed out or a collector failed (the previous results stay served).",
  },
  scans: {
    name: "helm_drift_exporter_scans_total",
    type: "counter",
    labels: ["result"],
    help: "Scans by result: success, partial (a collector failed), error, timeout or skipped (the previous scan was still running).",
  },
  apiRequests: {
    name: "helm_drift_exporter_kube_api_requests_total",
    type: "counter",
    labels: ["verb", "resource"],
    help: "Requests made to the Kubernetes API.",
  },
  apiRequestErrors: {
    name: "helm_drift_exporter_kube_api_request_errors_total",
    type: "counter",
    labels: ["verb", "resource", "code"],
    help: "Requests to the Kubernetes API that failed, by code: the HTTP status (403, 429, 500, ...), or timeout, canceled or network when there was none.",
  },
  apiResponseBytes: {
    name: "helm_drift_exporter_kube_api_response_bytes_total",
    type: "counter",
    labels: ["verb", "resource"],
    help: "Bytes received from the Kubernetes API.",
  },
  apiWatches: {
    name: "helm_drift_exporter_kube_api_watches",
    type: "gauge",
    labels: ["resource"],
    help: "Watches open on the Kubernetes API; the watched collections are served between scans from memory.",
  },
  scannerHeapUsed: {
    name: "helm_drift_exporter_scanner_heap_used_bytes",
    type: "gauge",
    labels: [],
    help: "V8 heap used by the scanner process (the nodejs_heap_* metrics describe the serving process).",
  },
  scannerRestarts: {
    name: "helm_drift_exporter_scanner_restarts_total",
    type: "counter",
    labels: ["reason"],
    help: "Times the scanner process was started again after it failed: out_of_memory (it outgrew --scan.heap-limit) or crashed. The scan it was running counts as an error; the previous results stay served.",
  },
  scannerHeapSize: {
    name: "helm_drift_exporter_scanner_heap_size_bytes",
    type: "gauge",
    labels: [],
    help: "V8 heap reserved by the scanner process (the nodejs_heap_* metrics describe the serving process).",
  },
  scannerResident: {
    name: "helm_drift_exporter_scanner_resident_memory_bytes",
    type: "gauge",
    labels: [],
    help: "Resident memory of the scanner process (process_resident_memory_bytes is the serving process's; a container's memory is their sum).",
  },
} as const satisfies Record<string, MetricDefinition>;

export const ALL_METRICS: readonly MetricDefinition[] = [
  ...Object.values(RELEASE_METRICS),
  ...Object.values(NAMESPACE_METRICS),
  ...Object.values(SCAN_METRICS),
  ...Object.values(SELF_METRICS),
];

/** Standard process and runtime metrics from prom-client, documented as a group. */
export const RUNTIME_METRIC_PREFIXES = ["process_", "nodejs_"] as const;
