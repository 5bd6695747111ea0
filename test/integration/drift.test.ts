/**
 * Drift end to end with real helm v3 and v4: no false drift on a chart written like
 * real-world charts, every real kubectl change found with the manager that made it,
 * ignores that hold, and kinds the exporter may not read reported as unchecked.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNamespace, grantUnprivileged, run, tempFile } from "../support/cluster.ts";
import { driftedFields, runExporter, scanJson, scrapeAfterFirstScan } from "../support/exporter.ts";
import { fixtureChart, helm, HELM_MAJORS } from "../support/helm.ts";

const realworld = fixtureChart("realworld");

const kubectl = (ns: string, ...args: string[]) => run("kubectl", ["-n", ns, ...args]);

describe("drift", { concurrency: true }, () => {
  for (const major of HELM_MAJORS) {
    it(`shows no drift after a helm ${major} install and an upgrade that changes values`, async () => {
      const ns = await createNamespace(`nodrift-${major}`);
      await helm(major, ["install", "shop", realworld, "-n", ns]);
      let scan = await scanJson([ns]);
      let drift = scan.release("shop").drift;
      assert.ok(drift);
      assert.deepEqual(drift.resources, [], JSON.stringify(drift.resources, null, 2));
      assert.equal(drift.inSync, true);
      assert.equal(drift.managedResources, 21);
      assert.equal(scan.code, 0);

      await helm(major, [
        "upgrade",
        "shop",
        realworld,
        "-n",
        ns,
        "--set",
        "replicas=3,greeting=bye,image.tag=2.8.0,resources.limits.memory=2Gi,storage=1Gi",
      ]);
      scan = await scanJson([ns]);
      drift = scan.release("shop").drift;
      assert.ok(drift);
      assert.deepEqual(drift.resources, [], JSON.stringify(drift.resources, null, 2));
      assert.equal(drift.baseRevision, 2);
    });

    it(`finds every kubectl change to a helm ${major} release, with the manager that made it`, async () => {
      const ns = await createNamespace(`drift-${major}`);
      await helm(major, ["install", "shop", realworld, "-n", ns]);
      const started = Date.now();
      await kubectl(ns, "scale", "statefulset", "shop-db", "--replicas=3");
      await kubectl(ns, "scale", "deployment", "shop-web", "--replicas=7"); // an HPA scales it: ignored
      await kubectl(ns, "set", "image", "deployment/shop-web", "web=registry.example/shop:9.9");
      await run("kubectl", ["-n", ns, "edit", "deployment", "shop-web"], {
        KUBE_EDITOR: "sed -i s/value:\\ hello/value:\\ edited/",
      });
      await kubectl(
        ns,
        "patch",
        "deployment",
        "shop-web",
        "--type=strategic",
        "-p",
        JSON.stringify({
          spec: {
            template: {
              spec: {
                containers: [
                  { name: "web", resources: { limits: { memory: "3Gi" } } },
                  { name: "sidecar", image: "busybox" },
                ],
              },
            },
          },
        }),
      );
      await kubectl(ns, "label", "deployment", "shop-web", "app.kubernetes.io/version=9", "--overwrite");
      await kubectl(ns, "delete", "configmap", "shop-config");
      await kubectl(ns, "delete", "service", "shop-nodeport");
      await kubectl(
        ns,
        "patch",
        "secret",
        "shop-secret",
        "-p",
        JSON.stringify({ stringData: { password: "rotated-by-hand" } }),
      );
      await kubectl(
        ns,
        "patch",
        "storefront",
        "shop",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { theme: "light" } }),
      );

      const scan = await scanJson([ns]);
      assert.equal(scan.code, 1, "drift needs attention");
      const drift = scan.release("shop").drift;
      assert.ok(drift);
      assert.deepEqual(driftedFields(drift), {
        "StatefulSet/shop-db spec.replicas": { change: "changed", managers: ["kubectl"] },
        'Deployment/shop-web metadata.labels["app.kubernetes.io/version"]': {
          change: "changed",
          managers: ["kubectl-label"],
        },
        "Deployment/shop-web spec.template.spec.containers[name=web].image": {
          change: "changed",
          managers: ["kubectl-set"],
        },
        "Deployment/shop-web spec.template.spec.containers[name=web].env[name=GREETING].value": {
          change: "changed",
          managers: ["kubectl-edit"],
        },
        "Deployment/shop-web spec.template.spec.containers[name=web].resources.limits.memory": {
          change: "changed",
          managers: ["kubectl-patch"],
        },
        "Deployment/shop-web spec.template.spec.containers[name=sidecar]": {
          change: "added",
          managers: ["kubectl-patch"],
        },
        "Secret/shop-secret data.password": { change: "changed", managers: ["kubectl-patch"] },
        "Storefront/shop spec.theme": { change: "changed", managers: ["kubectl-patch"] },
      });
      assert.deepEqual(
        drift.resources
          .filter((r) => r.state === "missing")
          .map((r) => `${r.kind}/${r.name}`)
          .sort(),
        ["ConfigMap/shop-config", "Service/shop-nodeport"],
      );
      assert.equal(drift.modified, 4);
      assert.equal(drift.missing, 2);
      assert.equal(drift.ignored.hpa, 1);
      assert.ok(
        drift.since && Date.parse(drift.since) >= started - 2000,
        "drift is dated from the first change",
      );
      const scale = drift.resources.find((r) => r.kind === "StatefulSet")?.managers;
      assert.deepEqual(
        scale?.map((m) => [m.manager, m.subresource]),
        [["kubectl", "scale"]],
      );

      const text = JSON.stringify(scan.json) + scan.stderr;
      assert.doesNotMatch(
        text,
        /rotated-by-hand|cm90YXRlZC1ieS1oYW5k|s3cr3t-value|czNjcjN0LXZhbHVl/,
        "Secret values never appear",
      );
      const diff = await runExporter(["scan", "--diff", "--namespaces", ns]);
      assert.match(diff.stdout, /Service .*shop-nodeport is missing/);
      assert.match(diff.stdout, /-\s+"registry.example\/shop:2.7.0"\n\s+\+\s+"registry.example\/shop:9.9"/);
      assert.doesNotMatch(diff.stdout, /rotated-by-hand|cm90YXRlZC1ieS1oYW5k/);

      const metrics = await scrapeAfterFirstScan(["--namespaces", ns]);
      assert.match(
        metrics,
        new RegExp(`helm_release_drifted_resources\\{namespace="${ns}",release="shop",reason="missing"\\} 2`),
      );
      assert.match(
        metrics,
        new RegExp(
          `helm_release_drift_manager_resources\\{namespace="${ns}",release="shop",manager="kubectl-patch"\\} 3`,
        ),
      );
      assert.match(
        metrics,
        new RegExp(`helm_release_drift_since_timestamp_seconds\\{namespace="${ns}",release="shop"\\} \\d+`),
      );
    });
  }

  it("honours ignore rules, ignore annotations and ignored managers, and counts them", async () => {
    const ns = await createNamespace("ignores");
    await helm("v3", ["install", "shop", realworld, "-n", ns]);
    await kubectl(
      ns,
      "patch",
      "storefront",
      "shop",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { theme: "light", replicas: 9 } }),
    );
    await kubectl(ns, "set", "image", "deployment/shop-web", "web=registry.example/shop:9.9");
    await kubectl(ns, "label", "service", "shop-web", "app.kubernetes.io/version=9", "--overwrite");
    await kubectl(ns, "annotate", "service", "shop-web", "helm-drift-exporter/ignore-paths=/metadata/labels");
    await kubectl(ns, "delete", "service", "shop-lb");
    const config = tempFile("config.yaml", [
      "drift:",
      "  ignoreManagers: [kubectl-set]",
      "  ignore:",
      "    - { kind: shop.example.com/Storefront, paths: [/spec/theme] }",
      "    - { kind: Service, name: '*-lb' }",
    ]);
    const scan = await scanJson([ns], ["--config.file", config]);
    const drift = scan.release("shop").drift;
    assert.ok(drift);
    assert.deepEqual(Object.keys(driftedFields(drift)), ["Storefront/shop spec.replicas"]);
    assert.equal(drift.missing, 0);
    assert.deepEqual(drift.ignored, { annotation: 1, hpa: 0, manager: 1, rule: 2 });
    // The same file from the environment, as the chart sets it for commands run in its pod.
    const fromEnv = await scanJson([ns], [], { HELM_DRIFT_EXPORTER_CONFIG_FILE: config });
    assert.deepEqual(fromEnv.release("shop").drift?.ignored, drift.ignored);
  });

  it("reports kinds the exporter may not read as unchecked, never in sync", async () => {
    const ns = await createNamespace("unchecked");
    await helm("v4", ["install", "shop", realworld, "-n", ns]);
    await grantUnprivileged(ns, "partial-reader", [
      {
        apiGroups: [""],
        resources: ["secrets", "configmaps", "services", "serviceaccounts", "persistentvolumeclaims"],
        verbs: ["get", "list"],
      },
    ]);
    const scan = await scanJson([ns], ["--context", "unprivileged"]);
    const drift = scan.release("shop").drift;
    assert.ok(drift);
    assert.equal(drift.inSync, false);
    assert.equal(drift.modified + drift.missing, 0);
    // 21 objects, of which 8 are the core kinds the Role grants (4 Services, ConfigMap, Secret, PVC, ServiceAccount).
    assert.equal(drift.unchecked.forbidden, 21 - 8);
    // Jobs and Pods are also where hooks are looked for: without them the hooks collector fails.
    assert.equal(scan.code, 2, "could not check everything");
    const collector = (name: string) => scan.json.scan.collectors.find((c) => c.name === name);
    assert.match(collector("hooks")?.errors.join() ?? "", /jobs.*403|403.*jobs/s);
    assert.equal(collector("drift")?.success, true, "unchecked kinds are findings, not collector errors");
    const forbidden = drift.resources.filter((r) => r.uncheckedReason === "forbidden").map((r) => r.kind);
    assert.ok(
      forbidden.includes("Deployment") &&
        forbidden.includes("Storefront") &&
        forbidden.includes("ClusterRole"),
    );
  });

  for (const major of HELM_MAJORS) {
    it(`helm ${major}: the rules of an aggregated ClusterRole are the aggregation controller's`, async () => {
      const ns = await createNamespace(`aggregated-${major}`);
      await helm(major, ["install", "roles", fixtureChart("aggregated-role"), "-n", ns]);
      // No controller manager here: write what clusterrole-aggregation-controller writes, a
      // forced server-side apply of the selected roles' rules.
      const applied = tempFile("rules.yaml", [
        "apiVersion: rbac.authorization.k8s.io/v1",
        "kind: ClusterRole",
        `metadata: { name: ${ns}-monitoring }`,
        "rules:",
        '  - { apiGroups: [""], resources: [services, endpoints, pods], verbs: [get, list, watch] }',
      ]);
      await run("kubectl", [
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=clusterrole-aggregation-controller",
        "-f",
        applied,
      ]);
      const live = JSON.parse(
        (await run("kubectl", ["get", "clusterrole", `${ns}-monitoring`, "-o", "json"])).stdout,
      ) as {
        rules: unknown[];
      };
      assert.equal(live.rules.length, 1, "the controller's rules are live");
      const scan = await scanJson([ns]);
      assert.deepEqual(scan.release("roles").drift?.resources, []);
      assert.equal(scan.code, 0);
    });
  }

  it("a release-name changed by hand is its release's drift, not a leftover of a release never installed", async () => {
    const ns = await createNamespace("renamed");
    await helm("v3", ["install", "s", fixtureChart("smoke"), "-n", ns]);
    await kubectl(
      ns,
      "annotate",
      "configmap",
      "s-config",
      "meta.helm.sh/release-name=renamed",
      "--overwrite",
    );
    const scan = await scanJson([ns]);
    const release = scan.release("s");
    assert.ok(release.drift);
    assert.deepEqual(driftedFields(release.drift), {
      'ConfigMap/s-config metadata.annotations["meta.helm.sh/release-name"]': {
        change: "changed",
        managers: ["kubectl-annotate"],
      },
    });
    assert.deepEqual(release.hooks?.leftovers, []);
    assert.deepEqual(scan.json.goneReleases, [], "no release named renamed ever existed");
  });

  it("a scale to zero, and the scales after it, are the scale subresource's, by someone unknown", async () => {
    const ns = await createNamespace("zero");
    await helm("v3", ["install", "s", fixtureChart("smoke"), "-n", ns, "--set", "replicas=3"]);
    for (const replicas of [0, 2]) {
      await kubectl(ns, "scale", "deployment", "s-web", `--replicas=${String(replicas)}`);
      const drift = (await scanJson([ns])).release("s").drift;
      assert.ok(drift);
      const [resource] = drift.resources;
      assert.deepEqual(
        resource?.fields.map((field) => [field.path, field.declared, field.live, field.managers]),
        [["spec.replicas", 3, replicas, []]],
        `scaled to ${String(replicas)}`,
      );
      assert.deepEqual(
        resource.managers.map((manager) => [manager.manager, manager.subresource]),
        [["unknown", "scale"]],
      );
    }
  });
});
