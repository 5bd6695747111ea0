/**
 * The chart that deploys the exporter: lint and render with helm v3 and v4, install into
 * the real control plane (prometheus-operator CRDs from its Go module validate the
 * ServiceMonitor and PrometheusRule), then scan with exactly the chart's identity (a token
 * of its ServiceAccount) in cluster and namespaced modes, and show it can write nothing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { parseBytes, resolveConfig } from "../../src/config/config.ts";
import { repoRoot } from "../cluster/binaries.ts";
import { chartCopies, CHART } from "../../scripts/sync-chart.ts";
import { clusterInfo, createNamespace, run } from "../support/cluster.ts";
import { scanJson, type ScanJson } from "../support/exporter.ts";
import { fixtureChart, helm, helmFails, HELM_MAJORS } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";

const ALL_ON = [
  "--set",
  "serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboards.enabled=true,networkPolicy.enabled=true",
];

function render(args: readonly string[]): Record<string, unknown>[] {
  const out = execFileSync("helm", ["template", "t", CHART, "-n", "monitoring", ...args], {
    encoding: "utf8",
  });
  return parseAllDocuments(out)
    .map((document) => document.toJS() as Record<string, unknown> | null)
    .filter((object): object is Record<string, unknown> => object !== null);
}

const kindOf = (object: Record<string, unknown>): string =>
  typeof object.kind === "string" ? object.kind : "";

function rulesOf(objects: readonly Record<string, unknown>[]): { verbs: string[] }[] {
  return objects
    .filter((o) => o.kind === "ClusterRole" || o.kind === "Role")
    .flatMap((o) => o.rules as { verbs: string[] }[]);
}

/** A kubeconfig that authenticates as the chart's ServiceAccount, with a token from the TokenRequest API. */
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
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: " +
        info.server +
        ", certificate-authority: " +
        info.caFile +
        "}}]",
      `users: [{name: sa, user: {token: ${stdout.trim()}}}]`,
      "contexts: [{name: sa, context: {cluster: c, user: sa}}]",
      "current-context: sa",
    ].join("\n"),
  );
  return file;
}

/** RBAC changes reach the apiserver's authorizer a moment after they are written. */
async function grantEffective(namespace: string, canI: readonly string[]): Promise<void> {
  const as = `--as=system:serviceaccount:${namespace}:hde-helm-drift-exporter`;
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

  it("carries the same alert rules and dashboards as alerts/ and grafana/ (npm run chart:sync)", () => {
    for (const [source, copy] of chartCopies()) {
      assert.equal(
        readFileSync(copy, "utf8"),
        readFileSync(source, "utf8"),
        `${copy} differs from ${source}: run npm run chart:sync`,
      );
    }
  });

  for (const major of HELM_MAJORS) {
    it(`passes helm ${major} lint --strict with several value sets`, async () => {
      for (const values of [
        [],
        ALL_ON,
        ["--set", "rbac.mode=namespaced", "--set", "rbac.namespaces={a,b}"],
      ]) {
        await helm(major, ["lint", "--strict", CHART, ...values]);
      }
    });
  }

  it("renders read-only RBAC: a ClusterRole by default, Roles only in the listed namespaces in namespaced mode", () => {
    const cluster = render([]);
    assert.deepEqual(cluster.filter((o) => kindOf(o).includes("Role")).map(kindOf), [
      "ClusterRole",
      "ClusterRoleBinding",
    ]);
    const namespaced = render(["--set", "rbac.mode=namespaced", "--set", "rbac.namespaces={team-a,team-b}"]);
    assert.deepEqual(
      namespaced
        .filter((o) => kindOf(o).includes("Role"))
        .map((o) => `${kindOf(o)}/${(o.metadata as { namespace: string }).namespace}`),
      ["Role/team-a", "Role/team-b", "RoleBinding/team-a", "RoleBinding/team-b"],
    );
    for (const rule of [...rulesOf(cluster), ...rulesOf(namespaced)]) {
      assert.deepEqual(
        rule.verbs.filter((verb) => !["get", "list", "watch"].includes(verb)),
        [],
        JSON.stringify(rule),
      );
    }
    const config = namespaced.find((o) => o.kind === "ConfigMap") as { data: Record<string, string> };
    assert.match(config.data["config.yaml"] ?? "", /namespaces: \["team-a","team-b"\]/);
    const narrowed = render([
      "--set",
      "rbac.rules[0].apiGroups={apps}",
      "--set",
      "rbac.rules[0].resources={deployments}",
      "--set",
      "rbac.rules[0].verbs={get,list}",
    ]);
    assert.ok(!rulesOf(narrowed).some((rule) => JSON.stringify(rule).includes('"*"')), "narrowed kinds");
  });

  it("renders a config file the exporter accepts, with the scanner's heap limit below the memory limit", () => {
    const objects = render(["--set", "config.scanTimeout=7m"]);
    const configMap = objects.find((o) => o.kind === "ConfigMap") as { data: Record<string, string> };
    const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-chart-")), "config.yaml");
    writeFileSync(file, configMap.data["config.yaml"] ?? "");
    const config = resolveConfig({ configFile: file, flags: {}, env: {} });
    assert.equal(config.scanTimeoutMs, 7 * 60_000);
    assert.equal(config.scanHeapLimitBytes, 320 * 2 ** 20);
    const deployment = objects.find((o) => o.kind === "Deployment") as {
      spec: { template: { spec: { containers: { resources: { limits: { memory: string } } }[] } } };
    };
    const memoryLimit = parseBytes(
      deployment.spec.template.spec.containers[0]?.resources.limits.memory ?? "",
    );
    assert.ok(memoryLimit && config.scanHeapLimitBytes < memoryLimit - 150 * 2 ** 20);
  });

  it("refuses invalid values with a clear message", async () => {
    assert.match(
      await helmFails("v3", ["template", "t", CHART, "--set", "rbac.mode=namespaced"]),
      /rbac.namespaces/,
    );
    assert.match(
      await helmFails("v3", ["template", "t", CHART, "--set", "rbac.rules[0].verbs={delete}"]),
      /get.*list.*watch/,
    );
    assert.match(await helmFails("v4", ["template", "t", CHART, "--set", "rbac.mode=everywhere"]), /mode/);
  });

  it("renders a hardened Deployment, a ServiceMonitor that keeps the release labels, and the bundle", () => {
    const objects = render(ALL_ON);
    const deployment = objects.find((o) => o.kind === "Deployment") as {
      spec: { template: { spec: Record<string, unknown> } };
    };
    const pod = deployment.spec.template.spec as {
      securityContext: Record<string, unknown>;
      containers: Record<string, unknown>[];
    };
    const container = pod.containers[0] as {
      securityContext: Record<string, unknown>;
      livenessProbe: unknown;
      readinessProbe: unknown;
      resources: { limits: unknown };
    };
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    assert.ok(container.livenessProbe && container.readinessProbe && container.resources.limits);
    const monitor = objects.find((o) => o.kind === "ServiceMonitor") as {
      spec: { endpoints: { honorLabels: boolean }[] };
    };
    assert.equal(monitor.spec.endpoints[0]?.honorLabels, true);
    const dashboards = objects.filter(
      (o) =>
        o.kind === "ConfigMap" &&
        (o.metadata as { labels: Record<string, string> }).labels.grafana_dashboard === "1",
    );
    assert.equal(dashboards.length, chartCopies().length - 1);
    const rule = objects.find((o) => o.kind === "PrometheusRule") as {
      spec: { groups: { rules: { alert?: string }[] }[] };
    };
    assert.ok(rule.spec.groups.flatMap((group) => group.rules).some((r) => r.alert === "HelmReleaseDrifted"));
  });

  it("installs, and scans with its ServiceAccount's identity cluster-wide and namespaced, writing nothing", async () => {
    const apps = await createNamespace("chart-apps");
    const other = await createNamespace("chart-other");
    await helm("v3", ["install", "shop", fixtureChart("realworld"), "-n", apps]);
    await helm("v4", ["install", "web", fixtureChart("smoke"), "-n", other]);

    // Cluster mode, with every optional object (validated by the apiserver against the CRDs).
    const clusterNs = await createNamespace("hde-cluster");
    await helm("v4", ["install", "hde", CHART, "-n", clusterNs, ...ALL_ON]);
    const clusterToken = await serviceAccountKubeconfig(clusterNs, "hde-helm-drift-exporter");
    await grantEffective(clusterNs, ["list", "clusterroles"]);
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
    const namespacedToken = await serviceAccountKubeconfig(namespacedNs, "hde-helm-drift-exporter");
    await grantEffective(namespacedNs, ["list", "deployments.apps", "-n", apps]);
    const scoped = await scanJson([apps], [], { KUBECONFIG: namespacedToken });
    assert.equal(scoped.json.scan.success, true, scoped.stderr);
    const drift = scoped.release("shop").drift;
    // Roles cannot grant cluster-scoped kinds: the release's ClusterRole is unknown, everything else in sync.
    assert.deepEqual(
      drift?.resources.map((resource) => [resource.kind, resource.state, resource.uncheckedReason]),
      [["ClusterRole", "unchecked", "forbidden"]],
    );
    assert.equal(drift.modified + drift.missing, 0);
    assert.equal(scoped.code, 1, "unknown needs attention");
    const outside = await scanJson([other], [], { KUBECONFIG: namespacedToken });
    assert.equal(outside.code, 2, "a namespace it was not granted is an error, not 'all well'");

    // The identity can read but never write.
    for (const ns of [clusterNs, namespacedNs]) {
      const as = `--as=system:serviceaccount:${ns}:hde-helm-drift-exporter`;
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
