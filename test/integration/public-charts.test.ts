/**
 * Widely used public charts (test/fixtures/charts/public, unedited) installed with real helm
 * v3 and v4: no drift, nothing unchecked and no orphaned hooks after an install and after an
 * upgrade with changed values (unquoted decimal CPUs included), then exactly the changes made
 * by hand with kubectl, each with the manager that made it.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { finishJob } from "../support/kubelet.ts";
import { createNamespace, kubeConfig, run, tempFile } from "../support/cluster.ts";
import { driftedFields, runExporter, scanJson } from "../support/exporter.ts";
import { fixtureChart, helm, HELM_MAJORS, startHelm, type HelmMajor } from "../support/helm.ts";

const publicChart = (name: string) => fixtureChart(`public/${name}`);

/** Values files as users write them: `cpu: 0.1` unquoted is a YAML float. */
const UPGRADE_VALUES = {
  prometheus: [
    "server:",
    "  global: { scrape_interval: 30s }",
    "  resources: { requests: { cpu: 0.1, memory: 512Mi }, limits: { cpu: 1.1, memory: 1Gi } }",
    "alertmanager:",
    "  resources: { requests: { cpu: 50m, memory: 0.5Gi } } # its values schema wants strings",
    "kube-state-metrics:",
    "  resources: { requests: { cpu: 0.2 }, limits: { cpu: 0.3 } }",
    "prometheus-node-exporter:",
    "  resources: { requests: { cpu: 0.001 } }",
  ],
  blackbox: [
    "resources: { requests: { cpu: 0.15, memory: 64Mi } }",
    "config: { modules: { icmp: { prober: icmp } } }",
  ],
  ingress: [
    "controller:",
    "  resources: { requests: { cpu: 0.1, memory: 90Mi } }",
    "  config: { use-forwarded-headers: 'true' }",
  ],
};

type Releases = Readonly<Record<"prometheus" | "blackbox" | "ingress", string>>;

/**
 * ingress-nginx runs its admission-webhook Jobs as pre- and post-install/upgrade hooks; the
 * control plane has no kubelet, so the test completes each the way the job controller would.
 */
async function ingressNginx(
  major: HelmMajor,
  verb: "install" | "upgrade",
  ns: string,
  release: string,
  extra: string[],
) {
  const fullname = `${release}-ingress-nginx`;
  const helmRun = startHelm(major, [
    verb,
    release,
    publicChart("ingress-nginx"),
    "-n",
    ns,
    "--timeout",
    "3m",
    // Cluster-scoped: one IngressClass per test, and an admission webhook that only sees this
    // namespace (nothing serves it here: it would reject every other test's Ingresses).
    "--set",
    `controller.ingressClassResource.name=${release}`,
    "--set-json",
    `controller.admissionWebhooks.namespaceSelector=${JSON.stringify({ matchLabels: { "kubernetes.io/metadata.name": ns } })}`,
    ...extra,
  ]);
  await finishJob(kubeConfig(), ns, `${fullname}-admission-create`, "Complete");
  await finishJob(kubeConfig(), ns, `${fullname}-admission-patch`, "Complete");
  const done = await helmRun.done;
  assert.equal(done.exitCode, 0, done.output);
}

async function installOrUpgrade(
  major: HelmMajor,
  verb: "install" | "upgrade",
  ns: string,
  releases: Releases,
) {
  const values = (lines: readonly string[]) =>
    verb === "upgrade" ? ["-f", tempFile("values.yaml", lines)] : [];
  await Promise.all([
    helm(major, [
      verb,
      releases.prometheus,
      publicChart("prometheus"),
      "-n",
      ns,
      ...values(UPGRADE_VALUES.prometheus),
    ]),
    helm(major, [
      verb,
      releases.blackbox,
      publicChart("prometheus-blackbox-exporter"),
      "-n",
      ns,
      ...values(UPGRADE_VALUES.blackbox),
    ]),
    ingressNginx(major, verb, ns, releases.ingress, values(UPGRADE_VALUES.ingress)),
  ]);
}

/** Everything in order: no drift, nothing unchecked, no hooks left behind, nothing gone. */
async function assertClean(ns: string, releases: Releases, revision: number) {
  const scan = await scanJson([ns]);
  for (const name of Object.values(releases)) {
    const release = scan.release(name);
    assert.equal(release.revision, revision, name);
    assert.ok(release.drift, name);
    assert.deepEqual(
      release.drift.resources,
      [],
      `${name}: ${JSON.stringify(release.drift.resources, null, 2)}`,
    );
    assert.ok(release.drift.managedResources > 0);
    assert.ok(release.hooks, name);
    assert.deepEqual(release.hooks.orphaned, [], name);
    assert.deepEqual(release.hooks.leftovers, [], name);
    assert.equal(release.needsAttention, false, name);
  }
  assert.deepEqual(scan.json.unreferencedHooks, []);
  assert.deepEqual(scan.json.goneReleases, []);
  assert.equal(scan.code, 0, scan.stderr);
}

const kubectl = (ns: string, ...args: string[]) => run("kubectl", ["-n", ns, ...args]);

describe("public charts", { concurrency: true }, () => {
  for (const major of HELM_MAJORS) {
    it(`helm ${major}: no false drift on install and upgrade, then exactly the kubectl changes`, async (t: TestContext) => {
      const started = Date.now();
      const ns = await createNamespace(`public-${major}`);
      const suffix = ns.slice(-6);
      const releases: Releases = {
        prometheus: `prom-${suffix}`,
        blackbox: `bb-${suffix}`,
        ingress: `ing-${suffix}`,
      };
      await installOrUpgrade(major, "install", ns, releases);
      await assertClean(ns, releases, 1);
      await installOrUpgrade(major, "upgrade", ns, releases);
      await assertClean(ns, releases, 2);

      const p = releases.prometheus;
      await kubectl(ns, "scale", "statefulset", `${p}-alertmanager`, "--replicas=2");
      await kubectl(ns, "set", "env", `deployment/${p}-kube-state-metrics`, "LOG_LEVEL=debug");
      await kubectl(ns, "set", "resources", `deployment/${p}-prometheus-pushgateway`, "--limits=cpu=250m");
      await kubectl(
        ns,
        "patch",
        "deployment",
        `${p}-prometheus-server`,
        "--type=json",
        "-p",
        JSON.stringify([
          {
            op: "add",
            path: "/spec/template/spec/tolerations",
            value: [{ key: "dedicated", operator: "Equal", value: "monitoring", effect: "NoSchedule" }],
          },
        ]),
      );
      const blackbox = `${releases.blackbox}-prometheus-blackbox-exporter`;
      await run("kubectl", ["-n", ns, "edit", "configmap", blackbox], {
        KUBE_EDITOR: "sed -i s/timeout:\\ 5s/timeout:\\ 9s/",
      });
      await run("kubectl", ["-n", ns, "edit", "deployment", blackbox], {
        KUBE_EDITOR: "sed -i s/progressDeadlineSeconds:\\ 600/progressDeadlineSeconds:\\ 120/",
      });

      const scan = await scanJson([ns]);
      assert.equal(scan.code, 1, "drift needs attention");
      const fields = (name: string) => {
        const drift = scan.release(name).drift;
        assert.ok(drift, name);
        return driftedFields(drift);
      };
      assert.deepEqual(fields(p), {
        [`StatefulSet/${p}-alertmanager spec.replicas`]: { change: "changed", managers: ["kubectl"] },
        [`Deployment/${p}-kube-state-metrics spec.template.spec.containers[name=kube-state-metrics].env`]: {
          change: "added",
          managers: ["kubectl-set"],
        },
        [`Deployment/${p}-prometheus-pushgateway spec.template.spec.containers[name=pushgateway].resources`]:
          {
            change: "added",
            managers: ["kubectl-set"],
          },
        [`Deployment/${p}-prometheus-server spec.template.spec.tolerations`]: {
          change: "added",
          managers: ["kubectl-patch"],
        },
      });
      assert.deepEqual(fields(releases.blackbox), {
        [`ConfigMap/${blackbox} data["blackbox.yaml"]`]: { change: "changed", managers: ["kubectl-edit"] },
        [`Deployment/${blackbox} spec.progressDeadlineSeconds`]: {
          change: "added",
          managers: ["kubectl-edit"],
        },
      });
      assert.deepEqual(fields(releases.ingress), {});
      const prometheusDrift = scan.release(p).drift;
      assert.deepEqual([prometheusDrift?.modified, prometheusDrift?.added], [1, 3]);

      const diff = await runExporter(["scan", "--diff", "--namespaces", ns]);
      assert.match(
        diff.stdout,
        /@@ -\d+,\d+ \+\d+,\d+ @@\n(?: {6}.*\n)*? {4}-\s+timeout: 5s\n {4}\+\s+timeout: 9s/,
      );
      assert.doesNotMatch(diff.stdout, /\\n/, "no multi-line value printed as one escaped line");
      assert.match(diff.stdout, /tolerations added +\(kubectl-patch\)\n {4}\+ - key: dedicated/);
      t.diagnostic(`helm ${major}: ${String(Math.round((Date.now() - started) / 1000))} s`);
    });
  }
});
