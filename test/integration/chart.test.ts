/**
 * The chart that deploys the exporter: lint and render with helm v3 and v4; use it as a
 * subchart of a parent chart; reach every exporter flag and every alert rule knob from values;
 * follow the prometheus-community charts' conventions; install into the real control plane
 * (prometheus-operator CRDs from its Go module validate the ServiceMonitor and PrometheusRule),
 * then scan with exactly the chart's identity (a token of its ServiceAccount) in cluster and
 * namespaced modes, and through kubeconfig.secret as a remote cluster, and show it can write
 * nothing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import {
  buildRules,
  PROFILES,
  type AlertingRule,
  type Profile,
  type Rule,
  type RuleFile,
} from "../../alerts/generate.ts";
import { promtool } from "../../alerts/tools.ts";
import { parseBytes, resolveConfig } from "../../src/config/config.ts";
import { OPTIONS, type OptionName, type OptionSpec } from "../../src/config/options.ts";
import { repoRoot } from "../../controlplane/binaries.ts";
import { chartFiles, CHART_OWNED_KEYS } from "../../scripts/sync-chart.ts";
import {
  CHART,
  exporterContainer,
  only,
  podFiles,
  podSpec,
  renderChart,
  type K8sObject,
} from "../support/chart.ts";
import { clusterInfo, createNamespace, run } from "../support/cluster.ts";
import { runExporter, scanJson, type ScanJson } from "../support/exporter.ts";
import { fixtureChart, helm, helmFails, HELM_MAJORS } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";

const ALL_ON = [
  "--set",
  "serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboards.enabled=true,networkPolicy.enabled=true",
];

/** A values file in a temp dir, for `-f`. */
function valuesFile(values: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-values-")), "values.yaml");
  writeFileSync(file, stringify(values));
  return file;
}

const render = (args: readonly string[]) => renderChart(args);
const withValues = (values: unknown) => renderChart(["-f", valuesFile(values)]);

function rulesOf(objects: readonly K8sObject[]): { verbs: string[] }[] {
  return objects
    .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
    .flatMap((o) => o.rules as { verbs: string[] }[]);
}

function configOf(objects: readonly K8sObject[]): Record<string, unknown> {
  const configMap = only(
    objects,
    "ConfigMap",
    objects.find((o) => o.kind === "Deployment")?.metadata.name,
  ) as {
    data: Record<string, string>;
  } & K8sObject;
  return parse(configMap.data["config.yaml"] ?? "") as Record<string, unknown>;
}

function lookup(object: unknown, keys: readonly string[]): unknown {
  return keys.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object);
}

/** A kubeconfig that authenticates as a ServiceAccount, with a token from the TokenRequest API. */
async function serviceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string> {
  const { stdout } = await run("kubectl", [
    "create",
    "token",
    serviceAccount,
    "-n",
    namespace,
    "--duration",
    "1h",
  ]);
  const info = clusterInfo();
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-sa-")), "kubeconfig");
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "c",
          cluster: {
            server: info.server,
            "certificate-authority-data": readFileSync(info.caFile).toString("base64"),
          },
        },
      ],
      users: [{ name: "sa", user: { token: stdout.trim() } }],
      contexts: [{ name: "remote", context: { cluster: "c", user: "sa" } }],
      "current-context": "remote",
    }),
  );
  return file;
}

/** RBAC changes reach the apiserver's authorizer a moment after they are written. */
async function grantEffective(
  namespace: string,
  serviceAccount: string,
  canI: readonly string[],
): Promise<void> {
  const as = `--as=system:serviceaccount:${namespace}:${serviceAccount}`;
  await pollUntil(`RBAC for ${namespace}`, async () => {
    const { stdout } = await run("kubectl", ["auth", "can-i", ...canI, as]).catch(() => ({ stdout: "no" }));
    return stdout.startsWith("yes") ? true : undefined;
  });
}

function attention(json: ScanJson): string {
  return JSON.stringify({
    releases: json.releases.filter((release) => release.needsAttention),
    unreferencedHooks: json.unreferencedHooks,
    goneReleases: json.goneReleases,
  });
}

/** A non-default value for every option of the config file; the chart sets the `CHART` ones from other values. */
const CHART_SETS = Symbol("set by the chart from other values");
const SAMPLES: Record<Exclude<OptionName, "output">, unknown> = {
  kubeconfig: CHART_SETS,
  context: "remote",
  namespaces: ["team-a", "team-b"],
  "exclude-namespaces": ["kube-system"],
  releases: ["team-a/*", "shop-?"],
  "exclude-releases": ["*-canary"],
  "namespace-selector": "team in (a,b),!skip",
  "metric-allowlist": ["helm_release_status", "helm_release_drift.*"],
  // Exclusive with the allowlist: set, but empty, so the exporter still reads the file.
  "metric-denylist": [],
  schedule: "*/7 * * * *",
  "scan.timeout": "7m",
  "scan.concurrency": 3,
  "scan.heap-limit": "300Mi",
  "release.max-decoded-bytes": "32Mi",
  "drift.helm-managers": ["helm", "argocd-application-controller"],
  "drift.ignore-managers": ["cert-manager-cainjector"],
  "drift.human-managers": ["kubectl", "kubectl-*", "k9s"],
  "drift.ignore-hpa-replicas": false,
  "terminating.threshold": "20m",
  "web.listen-address": CHART_SETS,
  "web.config.file": CHART_SETS,
  "web.telemetry-path": "/m",
  "log.level": "debug",
  "log.format": "logfmt",
};

describe("chart", () => {
  before(async () => {
    // ServiceMonitor and PrometheusRule CRDs, from the prometheus-operator Go module.
    const version = /PROMETHEUS_OPERATOR_VERSION=(\S+)/.exec(
      readFileSync(path.join(repoRoot, "scripts/versions.env"), "utf8"),
    )?.[1];
    const module = JSON.parse(
      execFileSync(
        "go",
        ["mod", "download", "-json", `github.com/prometheus-operator/prometheus-operator@${version ?? ""}`],
        {
          encoding: "utf8",
          env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod" },
          cwd: tmpdir(),
        },
      ),
    ) as { Dir: string };
    for (const crd of ["servicemonitors", "prometheusrules"]) {
      const file = path.join(
        module.Dir,
        "example/prometheus-operator-crd",
        `monitoring.coreos.com_${crd}.yaml`,
      );
      await run("kubectl", ["apply", "--server-side", "--force-conflicts", "-f", file]);
    }
    await run("kubectl", [
      "wait",
      "--for=condition=Established",
      "crd/servicemonitors.monitoring.coreos.com",
      "crd/prometheusrules.monitoring.coreos.com",
    ]);
  });

  it("carries what npm run chart:sync writes: alert rules, dashboards, the config schema", async () => {
    for (const { file, content, source } of await chartFiles()) {
      assert.equal(
        readFileSync(file, "utf8"),
        content,
        `${file} is out of date with ${source}: run npm run chart:sync`,
      );
    }
  });

  for (const major of HELM_MAJORS) {
    it(`passes helm ${major} lint --strict with several value sets`, async () => {
      for (const values of [
        [],
        ALL_ON,
        ["--set", "rbac.mode=namespaced", "--set", "rbac.namespaces={a,b}"],
        ["--set", "kubeconfig.enabled=true,kubeconfig.existingSecret=remote,rbac.create=false"],
        [
          "--set",
          "webConfig.secret=web,serviceMonitor.enabled=true,serviceMonitor.tlsConfig.insecureSkipVerify=true",
        ],
        ["--set", "prometheusRule.enabled=true,prometheusRule.groups.helm-release-drift-slo-alerts=true"],
        // The examples users start from.
        ["-f", path.join(repoRoot, "examples/namespaced-values.yaml")],
        ["-f", path.join(repoRoot, "examples/remote-cluster/values.yaml"), "--set", "kubeconfig.secret=e30K"],
      ]) {
        await helm(major, ["lint", "--strict", CHART, ...values]);
      }
    });
  }

  it("works as a subchart: helm v3 and v4 template and install it as a dependency, with global values", async () => {
    const parent = mkdtempSync(path.join(tmpdir(), "hde-parent-"));
    writeFileSync(
      path.join(parent, "Chart.yaml"),
      stringify({
        apiVersion: "v2",
        name: "platform",
        version: "1.0.0",
        dependencies: [{ name: "helm-drift-exporter", version: "0.1.0", repository: `file://${CHART}` }],
      }),
    );
    mkdirSync(path.join(parent, "templates"));
    writeFileSync(
      path.join(parent, "templates", "configmap.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-platform\ndata: {}\n",
    );
    writeFileSync(
      path.join(parent, "values.yaml"),
      stringify({
        // Helm passes global to every subchart, and validates it against each one's schema.
        global: {
          imageRegistry: "registry.internal.example",
          imagePullSecrets: ["regcred"],
          team: "platform",
        },
        "helm-drift-exporter": { config: { schedule: "*/5 * * * *" }, serviceMonitor: { enabled: true } },
      }),
    );
    for (const major of HELM_MAJORS) {
      await helm(major, ["dependency", "update", parent]);
      await helm(major, ["lint", "--strict", "--with-subcharts", parent]);
      const objects = await renderChart([], { major, chart: parent, release: "p" });
      const container = exporterContainer(objects);
      assert.equal(
        container.image,
        "registry.internal.example/helm-drift-exporter/helm-drift-exporter:0.1.0",
      );
      assert.deepEqual(podSpec(objects).imagePullSecrets, [{ name: "regcred" }]);
      assert.equal(lookup(configOf(objects), ["schedule"]), "*/5 * * * *");
      only(objects, "ServiceMonitor");

      const ns = await createNamespace(`subchart-${major}`);
      await helm(major, ["install", "p", parent, "-n", ns]);
      const { stdout } = await run("kubectl", [
        "get",
        "deployment",
        "p-helm-drift-exporter",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
      ]);
      assert.equal(stdout, container.image, major);
    }
  });

  it("renders read-only RBAC: a ClusterRole by default, Roles only in the listed namespaces in namespaced mode", async () => {
    const cluster = await render([]);
    assert.deepEqual(
      cluster.filter((o) => o.kind.includes("Role")).map((o) => o.kind),
      ["ClusterRole", "ClusterRoleBinding"],
    );
    const namespaced = await render([
      "--set",
      "rbac.mode=namespaced",
      "--set",
      "rbac.namespaces={team-a,team-b}",
    ]);
    assert.deepEqual(
      namespaced.filter((o) => o.kind.includes("Role")).map((o) => `${o.kind}/${o.metadata.namespace ?? ""}`),
      ["Role/team-a", "Role/team-b", "RoleBinding/team-a", "RoleBinding/team-b"],
    );
    for (const rule of [...rulesOf(cluster), ...rulesOf(namespaced)]) {
      assert.deepEqual(
        rule.verbs.filter((verb) => !["get", "list", "watch"].includes(verb)),
        [],
        JSON.stringify(rule),
      );
    }
    assert.deepEqual(configOf(namespaced).namespaces, ["team-a", "team-b"]);
    const narrowRules = [
      "--set",
      "rbac.rules[0].apiGroups={apps}",
      "--set",
      "rbac.rules[0].resources={deployments}",
      "--set",
      "rbac.rules[0].verbs={get,list}",
    ];
    const narrowed = await render(narrowRules);
    assert.ok(!rulesOf(narrowed).some((rule) => JSON.stringify(rule).includes('"*"')), "narrowed kinds");
    // Whether a release's namespace is being deleted (rollback readiness), whatever rbac.rules
    // says: watched cluster-wide; in a Role, `get` of that namespace's own object.
    const namespaceVerbs = (objects: readonly K8sObject[]) =>
      (rulesOf(objects) as { resources?: string[]; verbs: string[] }[])
        .filter((rule) => rule.resources?.includes("namespaces"))
        .flatMap((rule) => rule.verbs);
    assert.deepEqual(namespaceVerbs(narrowed), ["get", "list", "watch"]);
    const narrowedNamespaced = await render([
      "--set",
      "rbac.mode=namespaced",
      "--set",
      "rbac.namespaces={team-a}",
      ...narrowRules,
    ]);
    assert.deepEqual(namespaceVerbs(narrowedNamespaced), ["get"]);
  });

  it("reaches every exporter flag from values, in a config file the exporter accepts", async () => {
    const config: Record<string, unknown> = {};
    for (const spec of OPTIONS as readonly OptionSpec[]) {
      if (spec.command === "scan") continue;
      const sample = SAMPLES[spec.flag as Exclude<OptionName, "output">];
      assert.equal(sample === CHART_SETS, CHART_OWNED_KEYS.has(spec.fileKey.join(".")), spec.flag);
      if (sample === CHART_SETS) continue;
      let node = config;
      for (const key of spec.fileKey.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
      node[spec.fileKey.at(-1) ?? ""] = sample;
    }
    const objects = await withValues({
      config,
      service: { port: 9999 },
      webConfig: { secret: "web" },
      kubeconfig: { enabled: true, existingSecret: "remote" },
    });
    const file = configOf(objects);
    for (const spec of OPTIONS as readonly OptionSpec[]) {
      if (spec.command === "scan") continue;
      const sample = SAMPLES[spec.flag as Exclude<OptionName, "output">];
      if (sample !== CHART_SETS) assert.deepEqual(lookup(file, spec.fileKey), sample, spec.flag);
    }
    assert.equal(file.kubeconfig, "/etc/helm-drift-exporter/kubeconfig/config");
    assert.deepEqual(file.web, {
      listenAddress: ":9999",
      configFile: "/etc/helm-drift-exporter/web/web.yml",
      telemetryPath: "/m",
    });

    // The exporter reads that file, every key of it, without a complaint.
    const pod = podFiles(objects, { web: { "web.yml": "{}\n" }, remote: { config: "{}\n" } });
    const resolved = resolveConfig({ configFile: pod.configFile, flags: {}, env: {} });
    assert.equal(resolved.scanConcurrency, 3);
    assert.equal(resolved.maxDecodedBytes, 32 * 2 ** 20);
    assert.equal(resolved.listenPort, 9999);
    assert.equal(resolved.drift.ignoreHpaReplicas, false);
  });

  it("keeps the scanner's heap limit below the memory limit by default", async () => {
    const objects = await render([]);
    const dir = mkdtempSync(path.join(tmpdir(), "hde-chart-"));
    writeFileSync(path.join(dir, "config.yaml"), stringify(configOf(objects)));
    const config = resolveConfig({ configFile: path.join(dir, "config.yaml"), flags: {}, env: {} });
    assert.equal(config.scanHeapLimitBytes, 256 * 2 ** 20);
    // The serving process, the scanner's runtime and the node binary take about 240 MB besides.
    const memoryLimit = parseBytes(exporterContainer(objects).resources.limits?.memory ?? "");
    assert.ok(memoryLimit && config.scanHeapLimitBytes <= memoryLimit - 256 * 2 ** 20);
  });

  it("refuses invalid values with a clear message", async () => {
    const refused = async (major: "v3" | "v4", args: string[], reason: RegExp) => {
      assert.match(await helmFails(major, ["template", "t", CHART, ...args]), reason, args.join(" "));
    };
    await refused("v3", ["--set", "rbac.mode=namespaced"], /rbac.namespaces/);
    await refused("v3", ["--set", "rbac.rules[0].verbs={delete}"], /get.*list.*watch/);
    await refused("v4", ["--set", "rbac.mode=everywhere"], /mode/);
    // The exporter refuses unknown config keys at start; the schema refuses them at install.
    await refused("v3", ["--set", "config.scan.timeuot=5m"], /timeuot/);
    await refused("v4", ["--set", "config.web.listenAddress=:1"], /listenAddress/);
    await refused("v3", ["--set", "config.scan.timeout=5 minutes"], /timeout/);
    await refused("v3", ["--set", "kubeconfig.enabled=true"], /kubeconfig.secret/);
    await refused(
      "v4",
      ["--set", "webConfig.secret=web,serviceMonitor.enabled=true"],
      /serviceMonitor.tlsConfig/,
    );
    await refused(
      "v3",
      ["--set", "prometheusRule.alerts.HelmReleaseDriftd.enabled=false"],
      /HelmReleaseDriftd/,
    );
    await refused("v3", ["--set", "prometheusRule.thresholds.pendingSecs=5"], /pendingSecs/);
  });

  it("follows the prometheus-community charts' conventions", async () => {
    const objects = await withValues({
      fullnameOverride: "hde",
      nameOverride: "drift",
      namespaceOverride: "observability",
      commonLabels: { team: "platform" },
      image: { registry: "mirror.example", digest: `sha256:${"a".repeat(64)}` },
      extraArgs: ["--log.level=debug"],
      env: { HELM_DRIFT_EXPORTER_LOG_FORMAT: "logfmt" },
      extraEnv: [{ name: "NODE_OPTIONS", valueFrom: { configMapKeyRef: { name: "node", key: "options" } } }],
      extraVolumes: [{ name: "extra-ca", configMap: { name: "ca" } }],
      extraVolumeMounts: [{ name: "extra-ca", mountPath: "/etc/ssl/extra" }],
      livenessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 5 },
      startupProbe: { httpGet: { path: "/healthz", port: "metrics" }, failureThreshold: 60 },
      webConfig: { secret: "web" },
      service: { annotations: { "prometheus.io/scrape": "false" } },
      topologySpreadConstraints: [
        { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
      ],
      config: { web: { telemetryPath: "/m" } },
      serviceMonitor: {
        enabled: true,
        namespace: "prometheus",
        scrapeTimeout: "20s",
        relabelings: [{ targetLabel: "cluster", replacement: "prod" }],
        metricRelabelings: [{ sourceLabels: ["__name__"], regex: "nodejs_.*", action: "drop" }],
        tlsConfig: {
          ca: { secret: { name: "hde-tls", key: "ca.crt" } },
          serverName: "hde.observability.svc",
        },
        basicAuth: {
          username: { name: "hde-auth", key: "user" },
          password: { name: "hde-auth", key: "password" },
        },
      },
      dashboards: { enabled: true, namespace: "grafana", annotations: { grafana_folder: "Helm" } },
      prometheusRule: { enabled: true, namespace: "prometheus" },
    });
    for (const o of objects) {
      assert.equal(o.metadata.labels?.team, "platform", `${o.kind}: commonLabels`);
      assert.equal(o.metadata.labels["app.kubernetes.io/name"], "drift", `${o.kind}: nameOverride`);
      const expected =
        o.kind === "ServiceMonitor" || o.kind === "PrometheusRule"
          ? "prometheus"
          : o.kind === "ConfigMap" && o.metadata.labels.grafana_dashboard
            ? "grafana"
            : o.kind.startsWith("Cluster")
              ? undefined
              : "observability";
      assert.equal(o.metadata.namespace, expected, `${o.kind}/${o.metadata.name}: namespace`);
      assert.ok(
        o.metadata.name.startsWith("hde") || o.metadata.name.startsWith("observability-hde"),
        o.metadata.name,
      );
    }
    const binding = only(objects, "ClusterRoleBinding") as K8sObject & { subjects: { namespace: string }[] };
    assert.equal(binding.subjects[0]?.namespace, "observability");

    const container = exporterContainer(objects);
    assert.equal(
      container.image,
      `mirror.example/helm-drift-exporter/helm-drift-exporter:0.1.0@sha256:${"a".repeat(64)}`,
    );
    assert.deepEqual(container.args, [
      "serve",
      "--config.file=/etc/helm-drift-exporter/config.yaml",
      "--log.level=debug",
    ]);
    assert.deepEqual(container.env, [
      // For `kubectl exec ... helm-drift-exporter diagnose`: the exporter's config file.
      { name: "HELM_DRIFT_EXPORTER_CONFIG_FILE", value: "/etc/helm-drift-exporter/config.yaml" },
      { name: "HELM_DRIFT_EXPORTER_LOG_FORMAT", value: "logfmt" },
      { name: "NODE_OPTIONS", valueFrom: { configMapKeyRef: { name: "node", key: "options" } } },
    ]);
    assert.ok(container.volumeMounts.some((m) => m.mountPath === "/etc/ssl/extra"));
    assert.ok(podSpec(objects).volumes.some((v) => v.name === "extra-ca"));
    assert.equal(podSpec(objects).topologySpreadConstraints?.length, 1);
    // The web config has TLS: every probe speaks HTTPS.
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe])
      assert.equal((probe as { httpGet?: { scheme?: string } }).httpGet?.scheme, "HTTPS");
    assert.equal((container.livenessProbe as { periodSeconds?: number }).periodSeconds, 5);
    assert.deepEqual(only(objects, "Service").metadata.annotations, { "prometheus.io/scrape": "false" });

    const monitor = only(objects, "ServiceMonitor") as K8sObject & {
      spec: { namespaceSelector: unknown; endpoints: Record<string, unknown>[] };
    };
    assert.deepEqual(monitor.spec.namespaceSelector, { matchNames: ["observability"] });
    const endpoint = monitor.spec.endpoints[0] ?? {};
    assert.equal(endpoint.scheme, "https");
    assert.equal(endpoint.path, "/m");
    assert.equal(endpoint.scrapeTimeout, "20s");
    assert.equal(endpoint.honorLabels, true);
    assert.deepEqual(endpoint.tlsConfig, {
      ca: { secret: { name: "hde-tls", key: "ca.crt" } },
      serverName: "hde.observability.svc",
    });
    assert.deepEqual(endpoint.basicAuth, {
      username: { name: "hde-auth", key: "user" },
      password: { name: "hde-auth", key: "password" },
    });
    assert.deepEqual(endpoint.relabelings, [
      { targetLabel: "job", replacement: "helm-drift-exporter" },
      { targetLabel: "cluster", replacement: "prod" },
    ]);
    assert.equal((endpoint.metricRelabelings as unknown[]).length, 1);
    const dashboards = objects.filter((o) => o.metadata.labels?.grafana_dashboard === "1");
    assert.equal(dashboards.length, 3);
    for (const d of dashboards) assert.deepEqual(d.metadata.annotations, { grafana_folder: "Helm" });
  });

  describe("PrometheusRule", () => {
    const groupsOf = (objects: readonly K8sObject[]) =>
      (only(objects, "PrometheusRule") as K8sObject & { spec: RuleFile }).spec.groups;

    it("is the rule file of alerts/ with the default values", async () => {
      const groups = groupsOf(await render(["--set", "prometheusRule.enabled=true"]));
      assert.deepEqual(groups, buildRules(PROFILES.default).groups);
    });

    it("takes every knob from values, as alerts/generate.ts does from a profile, and promtool accepts it", async () => {
      const objects = await withValues({
        prometheusRule: {
          enabled: true,
          selector: 'job="hde", env="prod"',
          clusterLabel: "k8s_cluster",
          runbookBaseUrl: "https://runbooks.example/hde.md",
          grafanaUrl: "https://grafana.example/",
          groups: { "helm-hooks": false, "helm-release-drift-slo-alerts": true },
          alerts: {
            HelmReleaseDrifted: { enabled: false },
            HelmReleaseFailed: { for: "1h", severity: "info", labels: { team: "apps" } },
          },
          thresholds: { pendingSeconds: 600, sloMinReleases: 50 },
          slo: { objective: 0.995 },
          additionalRuleLabels: { routing: "helm" },
          additionalRuleAnnotations: { owner: "platform" },
        },
      });
      const profile: Profile = {
        ...PROFILES.default,
        selector: 'job="hde", env="prod"',
        clusterLabel: "k8s_cluster",
        runbookBaseUrl: "https://runbooks.example/hde.md",
        grafanaUrl: "https://grafana.example",
        for: { HelmReleaseFailed: "1h" },
        thresholds: { ...PROFILES.default.thresholds, pendingSeconds: 600, sloMinReleases: 50 },
        slo: { objective: 0.995 },
      };
      const expected = buildRules(profile, "all")
        .groups.filter((g) => g.name !== "helm-hooks")
        .map((g) => ({
          name: g.name,
          rules: g.rules
            .filter((r) => !("alert" in r && r.alert === "HelmReleaseDrifted"))
            .map((r): Rule => {
              if (!("alert" in r)) return r;
              const own: Record<string, string> =
                r.alert === "HelmReleaseFailed" ? { severity: "info", team: "apps" } : {};
              // The chart adds annotations of its own (additionalRuleAnnotations).
              const annotations = { ...r.annotations, owner: "platform" } as AlertingRule["annotations"];
              return { ...r, labels: { ...r.labels, ...own, routing: "helm" }, annotations };
            }),
        }));
      const groups = groupsOf(objects);
      assert.deepEqual(groups, expected);
      const text = JSON.stringify(groups);
      assert.match(text, /> 600/);
      assert.match(text, /0\.005/);
      assert.match(text, /99\.5% objective allows 0\.5%/);

      const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-rules-")), "rules.yaml");
      writeFileSync(file, stringify({ groups }));
      const { code, output } = await promtool(["check", "rules", file]);
      assert.equal(code, 0, output);
    });
  });

  it("watches a remote cluster through kubeconfig.secret, with an identity made by the chart there", async () => {
    // In the watched cluster: the chart with no exporter running, for its ServiceAccount and RBAC.
    const watched = await createNamespace("remote-identity");
    const apps = await createNamespace("remote-apps");
    await helm("v4", ["install", "web", fixtureChart("smoke"), "-n", apps]);
    await helm("v3", ["install", "rbac", CHART, "-n", watched, "--set", "replicas=0"]);
    await grantEffective(watched, "rbac-helm-drift-exporter", ["list", "secrets", "-n", apps]);
    const kubeconfig = await serviceAccountKubeconfig(watched, "rbac-helm-drift-exporter");

    // Where the exporter runs: the kubeconfig as a value, no RBAC of its own.
    const objects = await withValues({
      kubeconfig: { enabled: true, secret: readFileSync(kubeconfig).toString("base64") },
      config: { context: "remote", namespaces: [apps] },
      rbac: { create: false },
    });
    assert.ok(!objects.some((o) => o.kind.includes("Role")));
    assert.equal(podSpec(objects).automountServiceAccountToken, false);
    const pod = podFiles(objects);
    // No KUBECONFIG and no in-cluster token: only the chart's kubeconfig file can be used.
    const scan = await runExporter(["scan", "--output", "json", ...pod.args], { KUBECONFIG: "/nonexistent" });
    assert.equal(scan.code, 0, scan.stderr);
    const json = JSON.parse(scan.stdout) as ScanJson;
    assert.deepEqual(
      json.releases.map((r) => `${r.namespace}/${r.release}:${r.status}`),
      [`${apps}/web:deployed`],
    );
  });

  it("installs, and scans with its ServiceAccount's identity cluster-wide and namespaced, writing nothing", async () => {
    const apps = await createNamespace("chart-apps");
    const other = await createNamespace("chart-other");
    await helm("v3", ["install", "shop", fixtureChart("realworld"), "-n", apps]);
    await helm("v4", ["install", "web", fixtureChart("smoke"), "-n", other]);
    const serviceAccount = "hde-helm-drift-exporter";

    // Cluster mode, with every optional object (validated by the apiserver against the CRDs).
    const clusterNs = await createNamespace("hde-cluster");
    await helm("v4", ["install", "hde", CHART, "-n", clusterNs, ...ALL_ON]);
    const clusterToken = await serviceAccountKubeconfig(clusterNs, serviceAccount);
    await grantEffective(clusterNs, serviceAccount, ["list", "clusterroles"]);
    const wide = await scanJson([apps, other], [], { KUBECONFIG: clusterToken });
    assert.equal(wide.json.scan.success, true, wide.stderr);
    assert.equal(wide.code, 0, attention(wide.json));
    assert.equal(wide.release("shop").drift?.inSync, true, "every kind readable: nothing unchecked");
    const everything = await scanJson([], [], { KUBECONFIG: clusterToken }).catch(() => undefined);
    assert.equal(everything?.json.scan.success, true, "a cluster-wide scan succeeds too");

    // Namespaced mode: Roles only in `apps`.
    const namespacedNs = await createNamespace("hde-namespaced");
    await helm("v3", [
      "install",
      "hde",
      CHART,
      "-n",
      namespacedNs,
      "--set",
      "rbac.mode=namespaced",
      "--set",
      `rbac.namespaces={${apps}}`,
    ]);
    const namespacedToken = await serviceAccountKubeconfig(namespacedNs, serviceAccount);
    await grantEffective(namespacedNs, serviceAccount, ["list", "deployments.apps", "-n", apps]);
    const scoped = await scanJson([apps], [], { KUBECONFIG: namespacedToken });
    assert.equal(scoped.json.scan.success, true, scoped.stderr);
    const drift = scoped.release("shop").drift;
    // Roles cannot grant cluster-scoped kinds: the release's ClusterRole is unknown, everything else in sync.
    assert.deepEqual(
      drift?.resources.map((resource) => [resource.kind, resource.state, resource.uncheckedReason]),
      [["ClusterRole", "unchecked", "forbidden"]],
    );
    assert.equal(drift.modified + drift.missing, 0);
    // A Role grants `get` of its own namespace: whether it is being deleted is known, not unchecked.
    assert.deepEqual(scoped.release("shop").upgrade, { blocked: false, reasons: [] });
    assert.equal(scoped.code, 1, "unknown needs attention");
    const outside = await scanJson([other], [], { KUBECONFIG: namespacedToken });
    assert.equal(outside.code, 2, "a namespace it was not granted is an error, not 'all well'");

    // The identity can read but never write.
    for (const ns of [clusterNs, namespacedNs]) {
      const as = `--as=system:serviceaccount:${ns}:${serviceAccount}`;
      // `can-i` exits 1 when the answer is no: its output is the answer either way.
      const canI = async (verb: string, resource: string) =>
        (
          await run("kubectl", ["auth", "can-i", verb, resource, "-n", apps, as]).catch((error: unknown) => ({
            stdout: String(error),
          }))
        ).stdout;
      for (const [verb, resource] of [
        ["create", "secrets"],
        ["update", "deployments.apps"],
        ["patch", "configmaps"],
        ["delete", "pods"],
        ["create", "pods/exec"],
        ["deletecollection", "jobs.batch"],
      ]) {
        assert.match(
          await canI(verb ?? "", resource ?? ""),
          /^no/m,
          `${ns}: can-i ${verb ?? ""} ${resource ?? ""}`,
        );
      }
      // It lists each collection once and then watches it.
      for (const [verb, resource] of [
        ["list", "secrets"],
        ["watch", "secrets"],
        ["watch", "configmaps"],
        ["watch", "jobs.batch"],
        ["watch", "deployments.apps"],
      ]) {
        assert.match(
          await canI(verb ?? "", resource ?? ""),
          /^yes/m,
          `${ns}: can-i ${verb ?? ""} ${resource ?? ""}`,
        );
      }
    }
  });
});
