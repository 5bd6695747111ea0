/**
 * Exporter health: helm-drift-exporter itself. Every panel is per exporter, told apart by cluster
 * and job, never by instance (the pod's address, new on every restart).
 */
import {
  dashboard,
  EXPORTER,
  EXPORTER_BY,
  EXPORTER_LEGEND,
  UIDS,
  type Json,
  type JsonObject,
} from "../lib/dashboard.ts";
import { Layout } from "../lib/panels.ts";
import { variables } from "../lib/variables.ts";

export function exporterHealth(): JsonObject {
  const rate = (metric: string, by: string) =>
    `sum by (${by}) (rate(${metric}{${EXPORTER}}[$__rate_interval]))`;
  /** One value per exporter (cluster and job): the worst (`max`/`min`) of its targets. */
  const per = (aggregation: "max" | "min", expr: string, extra = "") =>
    `${aggregation} by (${EXPORTER_BY}${extra}) (${expr})`;
  const legend = EXPORTER_LEGEND;
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
      description:
        "Whether Prometheus could scrape the exporter, per cluster and job: down when any of its targets is.",
      unit: "none",
      mappings: upDown,
      colorMode: "background",
      textMode: "value_and_name",
      w: 4,
      h: 4,
      targets: [{ expr: per("min", `up{${EXPORTER}}`), legend }],
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
      targets: [{ expr: per("min", `helm_drift_exporter_last_scan_success{${EXPORTER}}`), legend }],
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
        { expr: per("max", `time() - helm_drift_exporter_last_scan_timestamp_seconds{${EXPORTER}}`), legend },
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
      targets: [{ expr: per("max", `helm_drift_exporter_scan_duration_seconds{${EXPORTER}}`), legend }],
    })
    .add({
      kind: "stat",
      title: "Releases scanned",
      description: "Releases seen by the served scan.",
      unit: "none",
      base: "blue",
      w: 4,
      h: 4,
      targets: [{ expr: per("max", `helm_drift_exporter_releases{${EXPORTER}}`), legend }],
    })
    .add({
      kind: "stat",
      title: "Uptime",
      description: "Time since the exporter process started (the youngest, with several replicas).",
      unit: "dtdurations",
      base: "blue",
      w: 4,
      h: 4,
      targets: [{ expr: per("min", `time() - process_start_time_seconds{${EXPORTER}}`), legend }],
    })
    .add({
      kind: "table",
      title: "Build",
      description: "Exporter and Node.js versions per cluster and job, and how many targets run each.",
      unit: "none",
      w: 24,
      h: 4,
      columns: {
        cluster: "Cluster",
        job: "Job",
        version: "Version",
        node_version: "Node.js",
        Value: "Targets",
      },
      targets: [
        {
          expr: `count by (${EXPORTER_BY}, version, node_version) (helm_drift_exporter_build_info{${EXPORTER}})`,
        },
      ],
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
        { expr: per("max", `time() - helm_drift_exporter_last_scan_timestamp_seconds{${EXPORTER}}`), legend },
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
        "Wall time of the served scan and of each collector in it (releases, drift, hooks), per cluster and job.",
      unit: "s",
      w: 12,
      h: 8,
      targets: [
        {
          expr: per("max", `helm_drift_exporter_scan_duration_seconds{${EXPORTER}}`),
          legend: `scan ${legend}`,
        },
        {
          expr: per("max", `helm_drift_exporter_collector_duration_seconds{${EXPORTER}}`, ", collector"),
          legend: `{{collector}} ${legend}`,
        },
      ],
    })
    .add({
      kind: "state-timeline",
      title: "Collector success",
      description:
        "Whether each collector (releases, drift, hooks) succeeded in the served scan, per cluster and job.",
      unit: "none",
      mappings: okFailed,
      w: 12,
      h: 8,
      targets: [
        {
          expr: per("min", `helm_drift_exporter_collector_success{${EXPORTER}}`, ", collector"),
          legend: `{{collector}} ${legend}`,
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
      title: "API errors by verb, resource and code",
      description:
        "Requests per second that failed, by verb, resource and code: the HTTP status (403 is RBAC, 429 throttling, 5xx the apiserver), or timeout, network or canceled when there was none. Forbidden kinds show up here and as unchecked objects.",
      unit: "reqps",
      stack: true,
      w: 8,
      h: 8,
      targets: [
        {
          expr: rate("helm_drift_exporter_kube_api_request_errors_total", "verb, resource, code"),
          legend: "{{verb}} {{resource}} {{code}}",
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
        "Resident memory of the exporter's two processes (their sum is the container's), and the V8 heaps in use and allocated: the scanner's, which holds what scans read and grows with the releases, and the serving process's. The scanner's heap is capped by --scan.heap-limit.",
      unit: "bytes",
      w: 8,
      h: 8,
      targets: [
        ...(
          [
            ["process_resident_memory_bytes", "serving resident"],
            ["helm_drift_exporter_scanner_resident_memory_bytes", "scanner resident"],
            ["helm_drift_exporter_scanner_heap_used_bytes", "scanner heap used"],
            ["helm_drift_exporter_scanner_heap_size_bytes", "scanner heap total"],
            ["nodejs_heap_size_used_bytes", "serving heap used"],
            ["nodejs_heap_size_total_bytes", "serving heap total"],
          ] as const
        ).map(([metric, name]) => ({
          expr: per("max", `${metric}{${EXPORTER}}`),
          legend: `${name} ${legend}`,
        })),
      ],
    })
    .add({
      kind: "timeseries",
      title: "CPU",
      description: "CPU time used by the exporter process, user and system, in cores (100% = one core).",
      unit: "percentunit",
      w: 8,
      h: 8,
      targets: [{ expr: rate("process_cpu_seconds_total", EXPORTER_BY), legend }],
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
        { expr: per("max", `nodejs_eventloop_lag_p99_seconds{${EXPORTER}}`), legend: `p99 ${legend}` },
        { expr: per("max", `nodejs_eventloop_lag_max_seconds{${EXPORTER}}`), legend: `max ${legend}` },
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
