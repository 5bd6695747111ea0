/**
 * Every setting is declared once here; flags, environment variables, the YAML config
 * file and `--help` are all derived from this table.
 */
export type OptionType = "string" | "list" | "duration" | "bytes" | "enum";

export interface OptionSpec {
  readonly flag: string;
  readonly type: OptionType;
  readonly description: string;
  readonly default?: string;
  readonly choices?: readonly string[];
  /** Path of the key in the YAML config file. */
  readonly fileKey: readonly string[];
  /** Only for the one-shot commands (`scan`, `diagnose`), or only for `serve`. */
  readonly command?: "scan" | "serve";
}

export const OPTIONS = [
  {
    flag: "kubeconfig",
    type: "string",
    fileKey: ["kubeconfig"],
    description: "Path to a kubeconfig; default $KUBECONFIG, ~/.kube/config, then in-cluster",
  },
  { flag: "context", type: "string", fileKey: ["context"], description: "kubeconfig context to use" },
  {
    flag: "namespaces",
    type: "list",
    fileKey: ["namespaces"],
    description: "Comma-separated namespaces to scan (default: all)",
  },
  {
    flag: "exclude-namespaces",
    type: "list",
    fileKey: ["excludeNamespaces"],
    description: "Comma-separated namespaces to skip",
  },
  {
    flag: "releases",
    type: "list",
    fileKey: ["releases"],
    description:
      "Comma-separated globs (* and ?) of releases to scan, as <name> or <namespace>/<name> (default: all)",
  },
  {
    flag: "exclude-releases",
    type: "list",
    fileKey: ["excludeReleases"],
    description: "Comma-separated globs (* and ?) of releases to skip, as <name> or <namespace>/<name>",
  },
  {
    flag: "namespace-selector",
    type: "string",
    fileKey: ["namespaceSelector"],
    description:
      "Kubernetes label selector: only releases in namespaces it matches are scanned, re-read at each scan (needs list and watch on namespaces)",
  },
  {
    flag: "metric-allowlist",
    type: "list",
    fileKey: ["metricAllowlist"],
    description:
      "Comma-separated regexes, each matching a whole metric name: only the helm_release_* and helm_orphaned_* metrics they match are exposed (not with --metric-denylist)",
    command: "serve",
  },
  {
    flag: "metric-denylist",
    type: "list",
    fileKey: ["metricDenylist"],
    description:
      "Comma-separated regexes, each matching a whole metric name: the helm_release_* and helm_orphaned_* metrics they match are not exposed (not with --metric-allowlist)",
    command: "serve",
  },
  {
    flag: "schedule",
    type: "string",
    fileKey: ["schedule"],
    default: "*/2 * * * *",
    description: "Cron schedule of scans (a scan also runs at start)",
    command: "serve",
  },
  {
    flag: "scan.timeout",
    type: "duration",
    fileKey: ["scan", "timeout"],
    default: "5m",
    description: "Abort a scan that runs longer",
  },
  {
    flag: "scan.concurrency",
    type: "string",
    fileKey: ["scan", "concurrency"],
    default: "8",
    description: "Parallel API reads during a scan",
  },
  {
    flag: "scan.heap-limit",
    type: "bytes",
    fileKey: ["scan", "heapLimit"],
    default: "512Mi",
    description:
      "V8 heap limit of the scanner process; V8 lets the heap grow in proportion to it, so it also sets how much garbage piles up between collections",
    command: "serve",
  },
  {
    flag: "release.max-decoded-bytes",
    type: "bytes",
    fileKey: ["release", "maxDecodedBytes"],
    default: "64Mi",
    description:
      "Largest decompressed release record, and largest manifest once YAML aliases are expanded, accepted (gzip and alias bomb guard)",
  },
  {
    flag: "drift.helm-managers",
    type: "list",
    fileKey: ["drift", "helmManagers"],
    default: "helm,helm-controller",
    description: "Field managers that are Helm itself (their writes are the release, not drift)",
  },
  {
    flag: "drift.ignore-managers",
    type: "list",
    fileKey: ["drift", "ignoreManagers"],
    description:
      "Field managers whose changes are expected (e.g. cert-manager-cainjector); counted as ignored",
  },
  {
    flag: "drift.human-managers",
    type: "list",
    fileKey: ["drift", "humanManagers"],
    default: "kubectl,kubectl-*",
    description:
      "Globs of field managers that are a person's tools: undeclared fields they own are reported as added (empty: never)",
  },
  {
    flag: "drift.ignore-hpa-replicas",
    type: "enum",
    fileKey: ["drift", "ignoreHpaReplicas"],
    default: "true",
    choices: ["true", "false"],
    description: "Ignore spec.replicas of workloads an HPA scales",
  },
  {
    flag: "terminating.threshold",
    type: "duration",
    fileKey: ["terminating", "threshold"],
    default: "10m",
    description:
      "A release or hook object deleted longer ago than this, with finalizers left, counts as stuck",
  },
  {
    flag: "web.listen-address",
    type: "string",
    fileKey: ["web", "listenAddress"],
    default: ":9877",
    description: "Address to serve metrics and the API on",
    command: "serve",
  },
  {
    flag: "web.config.file",
    type: "string",
    fileKey: ["web", "configFile"],
    description: "exporter-toolkit web config: TLS, basic auth (bcrypt), headers",
    command: "serve",
  },
  {
    flag: "web.telemetry-path",
    type: "string",
    fileKey: ["web", "telemetryPath"],
    default: "/metrics",
    description: "Path of the metrics endpoint",
    command: "serve",
  },
  {
    flag: "log.level",
    type: "enum",
    fileKey: ["log", "level"],
    default: "info",
    choices: ["debug", "info", "warn", "error"],
    description: "Log level",
  },
  {
    flag: "log.format",
    type: "enum",
    fileKey: ["log", "format"],
    default: "json",
    choices: ["json", "logfmt"],
    description: "Log format",
  },
  {
    flag: "output",
    type: "enum",
    fileKey: ["output"],
    default: "table",
    choices: ["table", "json"],
    description: "Output of `scan` and `diagnose` (table: text for a terminal)",
    command: "scan",
  },
] as const satisfies readonly OptionSpec[];

export type OptionName = (typeof OPTIONS)[number]["flag"];

/** HELM_DRIFT_EXPORTER_WEB_LISTEN_ADDRESS for web.listen-address. */
export function envName(flag: string): string {
  return `HELM_DRIFT_EXPORTER_${flag.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}`;
}
