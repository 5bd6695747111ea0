/** Proof that the test control plane is a real, pinned Kubernetes API with real helm v3 and v4. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { finishJob } from "../support/kubelet.ts";
import { clusterInfo, createNamespace, grantUnprivileged, kubeConfig, run } from "../support/cluster.ts";
import { fixtureChart as chart, HELM_BINARIES, HELM_MAJORS } from "../support/helm.ts";

describe("control plane", () => {
  it("serves the pinned Kubernetes version", async () => {
    const { stdout } = await run("kubectl", ["version", "-o", "json"]);
    const version = JSON.parse(stdout) as {
      serverVersion: { gitVersion: string };
      clientVersion: { gitVersion: string };
    };
    assert.equal(version.serverVersion.gitVersion, clusterInfo().kubernetesVersion);
    assert.equal(version.clientVersion.gitVersion, clusterInfo().kubernetesVersion);
  });

  for (const major of HELM_MAJORS) {
    it(`helm ${major} install stores the release as a helm.sh/release.v1 Secret`, async () => {
      const namespace = await createNamespace(`smoke-${major}`);
      await run(HELM_BINARIES[major], ["install", "demo", chart("smoke"), "-n", namespace]);
      const secret = await kubeConfig()
        .makeApiClient(CoreV1Api)
        .readNamespacedSecret({ name: "sh.helm.release.v1.demo.v1", namespace });
      assert.equal(secret.type, "helm.sh/release.v1");
      assert.deepEqual(
        {
          owner: secret.metadata?.labels?.owner,
          status: secret.metadata?.labels?.status,
          name: secret.metadata?.labels?.name,
          version: secret.metadata?.labels?.version,
        },
        { owner: "helm", status: "deployed", name: "demo", version: "1" },
      );
    });
  }

  it("refuses the unprivileged identity Secrets until a Role grants them", async () => {
    const namespace = await createNamespace("rbac");
    const unprivileged = kubeConfig("unprivileged").makeApiClient(CoreV1Api);
    await assert.rejects(unprivileged.listNamespacedSecret({ namespace }), (error: unknown) => {
      assert.match(String(error), /403|forbidden/i);
      return true;
    });
    await grantUnprivileged(namespace, "read-secrets", [
      { apiGroups: [""], resources: ["secrets"], verbs: ["list"] },
    ]);
    const list = await unprivileged.listNamespacedSecret({ namespace });
    assert.ok(Array.isArray(list.items));
  });
});

describe("test kubelet helper", () => {
  for (const major of HELM_MAJORS) {
    it(`lets helm ${major} finish an install whose hook Job completes`, async () => {
      const namespace = await createNamespace(`hook-ok-${major}`);
      const install = run(HELM_BINARIES[major], [
        "install",
        "hooked",
        chart("hook-job"),
        "-n",
        namespace,
        "--timeout",
        "2m",
      ]);
      await finishJob(kubeConfig(), namespace, "hooked-migrate", "Complete");
      const { stdout } = await install;
      assert.match(stdout, /STATUS: deployed/);
    });

    it(`makes helm ${major} fail an install whose hook Job fails`, async () => {
      const namespace = await createNamespace(`hook-fail-${major}`);
      const install = run(HELM_BINARIES[major], [
        "install",
        "hooked",
        chart("hook-job"),
        "-n",
        namespace,
        "--timeout",
        "2m",
      ]);
      await finishJob(kubeConfig(), namespace, "hooked-migrate", "Failed");
      await assert.rejects(install, /BackoffLimitExceeded|failed/i);
      const { stdout } = await run(HELM_BINARIES[major], ["status", "hooked", "-n", namespace, "-o", "json"]);
      assert.equal((JSON.parse(stdout) as { info: { status: string } }).info.status, "failed");
    });
  }
});
