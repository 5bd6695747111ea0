/**
 * Revision status end to end: real helm v3 and v4 change real release storage, and the
 * real exporter CLI reads it from the control plane.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { assertWrittenBetween } from "../support/clock.ts";
import { createNamespace, grantUnprivileged, kubeConfig } from "../support/cluster.ts";
import { scanJson } from "../support/exporter.ts";
import { failUpgrade, fixtureChart, helm, HELM_MAJORS, leavePendingUpgrade } from "../support/helm.ts";

const smoke = fixtureChart("smoke");

describe("release status", () => {
  for (const major of HELM_MAJORS) {
    it(`follows helm ${major} through install, upgrade, failed upgrades and rollback`, async () => {
      const ns = await createNamespace(`status-${major}`);
      const beforeInstall = Date.now();
      await helm(major, ["install", "web", smoke, "-n", ns]);
      const afterInstall = Date.now();
      let scan = await scanJson([ns]);
      assert.equal(scan.code, 0, scan.stderr);
      assert.deepEqual(pick(scan.release("web")), {
        status: "deployed",
        revision: 1,
        deployedRevision: 1,
        revisions: 1,
        failedRevisions: 0,
        storage: "secret",
      });
      assert.deepEqual(scan.release("web").chart, { name: "smoke", version: "0.1.0", appVersion: "1.0.0" });
      assert.equal(scan.release("web").applyMethod, major === "v4" ? "ssa" : "csa");
      assertWrittenBetween(scan.release("web").lastDeployed, beforeInstall, afterInstall, "lastDeployed");

      await helm(major, ["upgrade", "web", smoke, "-n", ns, "--set", "greeting=hi"]);
      await failUpgrade(major, "web", ns);
      await failUpgrade(major, "web", ns);
      scan = await scanJson([ns]);
      assert.equal(scan.code, 1, "a failed release needs attention");
      assert.deepEqual(pick(scan.release("web")), {
        status: "failed",
        revision: 4,
        deployedRevision: 2,
        revisions: 4,
        failedRevisions: 2,
        storage: "secret",
      });
      assert.match(scan.release("web").description ?? "", /Invalid value/);
      assert.deepEqual(
        scan.release("web").history.map((entry) => entry.status),
        ["superseded", "deployed", "failed", "failed"],
      );

      await helm(major, ["rollback", "web", "2", "-n", ns]);
      scan = await scanJson([ns]);
      // Deployed again, but a bare rollback now goes to revision 4, which failed: still news.
      assert.equal(scan.code, 1);
      assert.deepEqual(
        scan.release("web").rollback?.blockers.map((blocker) => blocker.reason),
        ["target_failed"],
      );
      assert.deepEqual(pick(scan.release("web")), {
        status: "deployed",
        revision: 5,
        deployedRevision: 5,
        revisions: 5,
        failedRevisions: 0,
        storage: "secret",
      });
    });

    it(`reports a release left in pending-upgrade when helm ${major} is killed`, async () => {
      const ns = await createNamespace(`pending-${major}`);
      await leavePendingUpgrade(kubeConfig(), major, "migrations", ns);
      const scan = await scanJson([ns]);
      assert.equal(scan.code, 1);
      assert.deepEqual(pick(scan.release("migrations")), {
        status: "pending-upgrade",
        revision: 2,
        deployedRevision: 1,
        revisions: 2,
        failedRevisions: 0,
        storage: "secret",
      });
      assert.ok(scan.release("migrations").lastDeployed, "pending-since time is known");
    });

    it(`reads helm ${major} releases stored by the ConfigMap driver`, async () => {
      const ns = await createNamespace(`cm-${major}`);
      await helm(major, ["install", "legacy", smoke, "-n", ns], { HELM_DRIVER: "configmap" });
      await failUpgrade(major, "legacy", ns, { HELM_DRIVER: "configmap" });
      const scan = await scanJson([ns]);
      assert.deepEqual(pick(scan.release("legacy")), {
        status: "failed",
        revision: 2,
        deployedRevision: 1,
        revisions: 2,
        failedRevisions: 1,
        storage: "configmap",
      });
      assert.equal(scan.release("legacy").chart?.name, "smoke");
    });
  }

  it("scans several namespaces and honours exclusions", async () => {
    const [a, b, c] = [
      await createNamespace("multi-a"),
      await createNamespace("multi-b"),
      await createNamespace("multi-c"),
    ];
    await Promise.all([
      helm("v3", ["install", "one", smoke, "-n", a]),
      helm("v4", ["install", "two", smoke, "-n", b]),
      helm("v3", ["install", "three", smoke, "-n", c]),
    ]);
    const scan = await scanJson([a, b, c], ["--exclude-namespaces", c]);
    assert.deepEqual(
      scan.json.releases.map((release) => `${release.namespace}/${release.release}`),
      [`${a}/one`, `${b}/two`],
    );
  });

  it("reports a corrupt release record as unreadable and goes on with the others", async () => {
    const ns = await createNamespace("corrupt");
    await helm("v3", ["install", "healthy", smoke, "-n", ns]);
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const gzipMagicThenGarbage = Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3]).toString("base64");
    for (const [name, release] of [
      ["truncated", gzipMagicThenGarbage],
      ["notbase64", "%%%not base64%%%"],
    ] as const) {
      await core.createNamespacedSecret({
        namespace: ns,
        body: {
          metadata: {
            name: `sh.helm.release.v1.${name}.v1`,
            labels: { owner: "helm", name, version: "1", status: "deployed" },
          },
          type: "helm.sh/release.v1",
          stringData: { release },
        },
      });
    }
    const scan = await scanJson([ns]);
    assert.equal(scan.code, 1);
    assert.equal(scan.json.scan.success, true, "a bad record is a finding, not a failed scan");
    assert.equal(scan.release("healthy").status, "deployed");
    assert.equal(scan.release("healthy").unreadable, null);
    assert.equal(scan.release("truncated").unreadable?.reason, "gzip");
    assert.equal(scan.release("notbase64").unreadable?.reason, "base64");
    assert.equal(scan.release("truncated").status, "deployed", "status still known from the labels");
    assert.match(scan.stderr, /"release":"truncated".*"reason":"gzip"/);
  });

  it("fails the scan, never reports all well, when it may not read release storage", async () => {
    const ns = await createNamespace("forbidden");
    await helm("v3", ["install", "hidden", smoke, "-n", ns]);
    const denied = await scanJson([ns], ["--context", "unprivileged"]);
    assert.equal(denied.code, 2);
    assert.equal(denied.json.scan.success, false);
    assert.match(denied.json.scan.collectors[0]?.errors.join() ?? "", /403|forbidden/i);

    // Read-only access to release storage, the kinds the release deploys (drift), hook kinds and its namespace.
    await grantUnprivileged(ns, "release-reader", [
      { apiGroups: [""], resources: ["secrets", "configmaps"], verbs: ["get", "list"] },
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list"] },
      { apiGroups: [""], resources: ["pods", "serviceaccounts"], verbs: ["list"] },
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["list"] },
      // Rollback readiness: is the namespace being deleted? A Role may grant `get` of its own namespace.
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
    ]);
    const allowed = await scanJson([ns], ["--context", "unprivileged"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(allowed.release("hidden").status, "deployed");
  });
});

function pick(release: {
  status: string;
  revision: number;
  deployedRevision: number | null;
  revisions: number;
  failedRevisions: number;
  storage: string;
}) {
  const { status, revision, deployedRevision, revisions, failedRevisions, storage } = release;
  return { status, revision, deployedRevision, revisions, failedRevisions, storage };
}
