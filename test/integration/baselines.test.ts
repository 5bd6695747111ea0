/**
 * The benchmark's baselines (bench/baselines.ts) against the real control plane: the
 * `helm get manifest | kubectl diff` loop tells a fresh release from a drifted one, and
 * the floor counts every object it listed, page after page. helm-diff is not built in
 * CI (scripts/build-helm-diff.sh is not part of `npm run binaries`); only its
 * unavailable report is checked here.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";
import { helmDiffLoop, kubectlDiffLoop, measureFloor, type BaselineEnv } from "../../bench/baselines.ts";
import { clusterEnv } from "../../controlplane/cluster-info.ts";
import { clusterInfo, createNamespace, run } from "../support/cluster.ts";
import { fixtureChart, helm } from "../support/helm.ts";

const realworld = fixtureChart("realworld");

function baselineEnv(): BaselineEnv {
  const info = clusterInfo();
  return { kubeconfig: info.kubeconfig, env: clusterEnv(info) };
}

describe("baselines", () => {
  it("kubectl diff loop: a fresh release is in sync, a scaled one drifted; the floor counts what it lists", async () => {
    const ns = await createNamespace("baselines");
    await helm("v3", ["install", "fresh", realworld, "-n", ns]);
    await helm("v4", ["install", "scaled", realworld, "-n", ns]);
    await run("kubectl", ["-n", ns, "scale", "deployment", "scaled-web", "--replicas=5"]);
    const env = baselineEnv();

    const diff = await kubectlDiffLoop(env, [
      { namespace: ns, name: "fresh" },
      { namespace: ns, name: "scaled" },
    ]);
    assert.equal(diff.available, true);
    assert.equal(diff.releases, 2);
    assert.deepEqual(
      diff.perRelease.map(({ name, drifted, error }) => ({ name, drifted, error })),
      [
        { name: "fresh", drifted: false, error: undefined },
        { name: "scaled", drifted: true, error: undefined },
      ],
    );
    assert.ok(diff.perRelease.every((release) => release.seconds > 0));
    assert.ok(diff.seconds >= diff.perRelease.reduce((sum, release) => sum + release.seconds, 0) * 0.99);

    // One deployment per release, two pages of one; one release record per release.
    const deployments = { path: `/apis/apps/v1/namespaces/${ns}/deployments`, resource: "deployments" };
    const secrets = { path: `/api/v1/namespaces/${ns}/secrets`, resource: "secrets" };
    const floor = await measureFloor(env, [deployments, secrets], {
      pageSize: 1,
      labelSelector: (c) => (c.resource === "secrets" ? "owner=helm" : undefined),
    });
    assert.deepEqual(
      floor.perCollection.map(({ path, items }) => ({ path, items })),
      [
        { path: deployments.path, items: 2 },
        { path: secrets.path, items: 2 },
      ],
    );
    assert.equal(floor.requests, 4);
    assert.ok(floor.perCollection.every((c) => c.bytes > 0 && c.seconds > 0));
    assert.equal(
      floor.bytes,
      floor.perCollection.reduce((sum, c) => sum + c.bytes, 0),
    );
  });

  it("reports helm-diff as unavailable, with the reason, when the plugin is not built", async () => {
    const missing = path.join(tmpdir(), "hde-no-helm-diff.plugins");
    const result = await helmDiffLoop(baselineEnv(), [{ namespace: "x", name: "y" }], realworld, missing);
    assert.equal(result.available, false);
    assert.match(result.unavailableReason ?? "", /build-helm-diff\.sh/);
    assert.deepEqual(result.perRelease, []);
  });
});
