/**
 * Faults against the real exporter and control plane: a fault never replaces the last truth
 * with an empty or stale answer. (Outages, throttling and black holes of the apiserver itself
 * are in faults-apiserver.test.ts, on a control plane of their own.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { parseExposition } from "../support/metrics-text.ts";
import { createNamespace, grantUnprivileged, kubeConfig, run, tempFile } from "../support/cluster.ts";
import { runExporter, scanJson, startServer, waitReady, type Server } from "../support/exporter.ts";
import { failUpgrade, fixtureChart, helm } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";

const smoke = fixtureChart("smoke");

/** The exporter's RBAC within one namespace, as the chart grants it in namespaced mode. */
const READER_RULES = [
  { apiGroups: [""], resources: ["secrets", "configmaps"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["pods", "serviceaccounts"], verbs: ["get", "list", "watch"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch"] },
];

interface ReleaseBody {
  release: { status: string; stale: { since: string; reason: string } | null };
}

async function oneRelease(server: Server, namespace: string, release: string) {
  const response = await fetch(`${server.url}/api/v1/releases/${namespace}/${release}`);
  return response.ok ? ((await response.json()) as ReleaseBody).release : undefined;
}

async function metrics(server: Server) {
  return parseExposition(await (await fetch(`${server.url}/metrics`)).text());
}

describe("faults", { concurrency: true }, () => {
  it("a release whose storage becomes forbidden stays, marked stale, and leaves no false leftovers", async () => {
    const ns = await createNamespace("fault-rbac");
    await helm("v3", ["install", "web", smoke, "-n", ns]);
    await grantUnprivileged(ns, "exporter", READER_RULES);
    const server = await startServer([
      ...["--context", "unprivileged", "--namespaces", ns],
      ...["--schedule", "*/2 * * * * *"],
    ]);
    try {
      await waitReady(server);
      assert.equal((await oneRelease(server, ns, "web"))?.stale, null);

      // Release storage no longer readable: an open watch keeps streaming until it is re-opened
      // (within a minute), then the list is forbidden.
      await kubeConfig()
        .makeApiClient(RbacAuthorizationV1Api)
        .deleteNamespacedRoleBinding({ name: "exporter", namespace: ns });
      const stale = await pollUntil(
        "the release to be served stale",
        async () => {
          const release = await oneRelease(server, ns, "web");
          return release?.stale ? release : undefined;
        },
        240_000,
      );
      assert.equal(stale.status, "deployed", "as last seen");
      assert.match(stale.stale?.reason ?? "", /release storage in .* could not be listed: .*403/);
      const samples = await metrics(server);
      const value = (name: string, labels: Record<string, string> = {}) =>
        samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
          ?.value;
      assert.equal(value("helm_release_status", { namespace: ns, release: "web", status: "deployed" }), 1);
      assert.equal(value("helm_drift_exporter_stale_releases"), 1);
      assert.equal(value("helm_drift_exporter_last_scan_success"), 0);
      assert.ok(
        samples
          .filter((s) => s.name === "helm_release_leftover_resources")
          .every((s) => s.value === 0 || s.labels.release === "web"),
        "nothing is a leftover of a release that could not be seen",
      );
      assert.ok((value("helm_drift_exporter_scans_total", { result: "error" }) ?? 0) >= 1, "a failed scan");

      // Readable again: fresh again.
      await grantUnprivileged(ns, "exporter-again", READER_RULES);
      await pollUntil(
        "the release to be fresh again",
        async () => ((await oneRelease(server, ns, "web"))?.stale === null ? true : undefined),
        240_000,
      );
    } finally {
      await server.stop();
    }
  });

  it("the record wins over a storage label that disagrees with it", async () => {
    const ns = await createNamespace("fault-labels");
    await helm("v3", ["install", "web", smoke, "-n", ns]);
    await helm("v3", ["upgrade", "web", smoke, "-n", ns, "--set", "greeting=hi"]);
    await failUpgrade("v3", "web", ns);
    // Revision 3 failed, but its label says deployed; revision 2 is deployed, but its label hides it.
    await run("kubectl", [
      "-n",
      ns,
      "label",
      "--overwrite",
      "secret",
      "sh.helm.release.v1.web.v3",
      "status=deployed",
    ]);
    await run("kubectl", [
      "-n",
      ns,
      "label",
      "--overwrite",
      "secret",
      "sh.helm.release.v1.web.v2",
      "status=superseded",
    ]);
    const scan = await scanJson([ns]);
    const web = scan.release("web");
    assert.equal(web.status, "failed");
    assert.equal(web.deployedRevision, 2);
    assert.equal(web.drift?.baseRevision, 2);
    assert.equal(web.drift.baseIsDeployed, true);
    assert.deepEqual(
      web.history.map((entry) => entry.status),
      ["superseded", "deployed", "failed"],
    );
  });

  it("an unreachable API server is reported as such, never as no releases", async () => {
    const kubeconfig = tempFile("unreachable-kubeconfig", [
      "apiVersion: v1",
      "kind: Config",
      "current-context: nowhere",
      "contexts: [{name: nowhere, context: {cluster: nowhere, user: nowhere}}]",
      // Port 9 (discard) on loopback: nothing listens, every connection is refused.
      "clusters: [{name: nowhere, cluster: {server: 'https://127.0.0.1:9', insecure-skip-tls-verify: true}}]",
      "users: [{name: nowhere, user: {token: t}}]",
    ]);
    const scan = await runExporter(["scan", "--kubeconfig", kubeconfig, "--scan.timeout", "60s"]);
    assert.equal(scan.code, 2);
    assert.doesNotMatch(scan.stdout, /No Helm releases found/);
    assert.doesNotMatch(scan.stderr, /"msg":"connected"/);
    assert.match(scan.stderr, /the Kubernetes API server does not answer; nothing was scanned/);

    const server = await startServer(["--kubeconfig", kubeconfig, "--scan.timeout", "60s"]);
    try {
      const samples = await pollUntil(
        "a first (failed) scan",
        async () => {
          const all = await metrics(server);
          return all.some((s) => s.name === "helm_drift_exporter_scans_total") ? all : undefined;
        },
        120_000,
      );
      assert.equal(samples.find((s) => s.name === "helm_drift_exporter_last_scan_success")?.value, 0);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503, "not ready after a failed first scan");
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
  });
});
