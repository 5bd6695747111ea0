/**
 * Hooks, leftovers and stuck deletions with real helm v3 and v4: ConfigMap, Secret and
 * ServiceAccount hooks complete at once; Job hooks are completed or failed by the test
 * kubelet helper.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertWrittenBetween } from "../support/clock.ts";
import { finishJob } from "../support/kubelet.ts";
import { createNamespace, kubeConfig, run } from "../support/cluster.ts";
import { scanJson, scrapeAfterFirstScan } from "../support/exporter.ts";
import {
  fixtureChart,
  helm,
  helmFails,
  HELM_MAJORS,
  leavePendingUpgrade,
  startHelm,
} from "../support/helm.ts";

const kubectl = (ns: string, ...args: string[]) => run("kubectl", ["-n", ns, ...args]);
const STUCK_AT_ONCE = ["--terminating.threshold", "1ms"];

describe("hooks", { concurrency: true }, () => {
  for (const major of HELM_MAJORS) {
    it(`finds left-behind hooks, leftovers and stuck deletions of a helm ${major} release, and what uninstall leaves`, async () => {
      const ns = await createNamespace(`hooks-${major}`);
      const chart = fixtureChart("hooks");
      await helm(major, ["install", "h", chart, "-n", ns]);
      let scan = await scanJson([ns], STUCK_AT_ONCE);
      assert.deepEqual(
        scan.release("h").hooks,
        { orphaned: [], running: [], leftovers: [], terminating: [] },
        "a clean release",
      );
      assert.equal(scan.code, 0);

      // An upgrade that creates a ConfigMap, then fails on a Service the apiserver rejects.
      await helmFails(major, ["upgrade", "h", chart, "-n", ns, "--set", "extra=true,invalid=true"]);
      // The pre-upgrade hook (policy hook-succeeded) ran and was deleted; someone re-creates it.
      await kubectl(ns, "create", "configmap", "h-pre", "--from-literal=step=again");
      await kubectl(ns, "annotate", "configmap", "h-pre", "helm.sh/hook=pre-install,pre-upgrade");
      // The Secret hook (default policy: stays) is deleted but held by a finalizer.
      await kubectl(
        ns,
        "patch",
        "secret",
        "h-post",
        "-p",
        JSON.stringify({ metadata: { finalizers: ["example.com/hold"] } }),
      );
      await kubectl(ns, "delete", "secret", "h-post", "--wait=false");

      scan = await scanJson([ns], STUCK_AT_ONCE);
      assert.equal(scan.code, 1);
      const hooks = scan.release("h").hooks;
      assert.ok(hooks);
      assert.deepEqual(
        hooks.orphaned.map((h) => [h.kind, h.name, h.reason, h.revision]),
        [["ConfigMap", "h-pre", "succeeded_not_deleted", 2]],
      );
      assert.deepEqual(
        hooks.leftovers.map((l) => [l.kind, l.name, l.reason]),
        [["ConfigMap", "h-extra", "leftover"]],
      );
      assert.deepEqual(
        hooks.terminating.map((t) => [t.kind, t.name, t.finalizers]),
        [["Secret", "h-post", ["example.com/hold"]]],
      );
      assert.deepEqual(scan.json.unreferencedHooks, []);

      const metrics = await scrapeAfterFirstScan(["--namespaces", ns, ...STUCK_AT_ONCE]);
      const series = (name: string, labels: string) =>
        new RegExp(`${name}\\{namespace="${ns}",release="h"${labels}\\} (\\d+)`).exec(metrics)?.[1];
      assert.equal(series("helm_release_orphaned_hook_resources", ',reason="succeeded_not_deleted"'), "1");
      assert.equal(series("helm_release_orphaned_hook_resources", ',reason="failed"'), "0");
      assert.equal(series("helm_release_leftover_resources", ',reason="leftover"'), "1");
      assert.equal(series("helm_release_terminating_resources", ""), "1");

      await helm(major, ["uninstall", "h", "-n", ns]);
      scan = await scanJson([ns], STUCK_AT_ONCE);
      assert.equal(scan.code, 1, "hooks of a gone release need attention");
      assert.deepEqual(scan.json.unreferencedHooks.map((h) => `${h.kind}/${h.name}`).sort(), [
        "ConfigMap/h-pre",
        "Secret/h-post",
      ]);
      assert.deepEqual(scan.json.goneReleases, [
        {
          namespace: ns,
          release: "h",
          leftovers: [{ kind: "ConfigMap", namespace: ns, name: "h-kept", reason: "kept" }],
        },
      ]);
      const after = await scrapeAfterFirstScan(["--namespaces", ns]);
      assert.match(after, new RegExp(`helm_orphaned_hook_resources\\{namespace="${ns}"\\} 2`));
      assert.match(
        after,
        new RegExp(`helm_release_leftover_resources\\{namespace="${ns}",release="h",reason="kept"\\} 1`),
      );
    });

    it(`tells a failed hook Job left behind and a running one, wait from act, with helm ${major}`, async () => {
      const ns = await createNamespace(`hookjob-${major}`);
      const chart = fixtureChart("hook-job");
      const install = startHelm(major, ["install", "broken", chart, "-n", ns, "--timeout", "2m"]);
      await finishJob(kubeConfig(), ns, "broken-migrate", "Failed");
      await install.done;

      const beforeStuck = Date.now();
      await leavePendingUpgrade(kubeConfig(), major, "stuck", ns);
      let scan = await scanJson([ns]);
      assert.deepEqual(
        scan.release("broken").hooks?.orphaned.map((h) => [h.name, h.reason]),
        [["broken-migrate", "failed"]],
      );
      const running = scan.release("stuck").hooks?.running;
      assert.ok(running);
      assert.deepEqual(
        running.map((h) => [h.name, h.state, h.revision]),
        [["stuck-migrate", "active", 2]],
        "wait",
      );
      assertWrittenBetween(running[0]?.startedAt, beforeStuck, Date.now(), "the hook's start");

      await finishJob(kubeConfig(), ns, "stuck-migrate", "Failed");
      scan = await scanJson([ns]);
      assert.deepEqual(
        scan.release("stuck").hooks?.running.map((h) => h.state),
        ["failed"],
        "act: helm is no longer watching",
      );
      const metrics = await scrapeAfterFirstScan(["--namespaces", ns]);
      assert.match(
        metrics,
        new RegExp(`helm_release_running_hooks\\{namespace="${ns}",release="stuck",state="failed"\\} 1`),
      );
      assert.match(
        metrics,
        new RegExp(
          `helm_release_running_hook_started_timestamp_seconds\\{namespace="${ns}",release="stuck"\\} \\d+`,
        ),
      );
    });
  }

  it("reports nothing for releases whose hooks cleaned up after themselves", async () => {
    const ns = await createNamespace("hooks-clean");
    const install = startHelm("v4", ["install", "ok", fixtureChart("hook-job"), "-n", ns, "--timeout", "2m"]);
    await finishJob(kubeConfig(), ns, "ok-migrate", "Complete");
    await install.done;
    await helm("v3", ["install", "smoke", fixtureChart("smoke"), "-n", ns]);
    const scan = await scanJson([ns]);
    assert.equal(scan.code, 0, scan.stderr);
    for (const release of scan.json.releases) {
      assert.deepEqual(
        release.hooks,
        { orphaned: [], running: [], leftovers: [], terminating: [] },
        release.release,
      );
    }
    assert.deepEqual(scan.json.unreferencedHooks, []);

    // Both namespaces have a release with a cluster-scoped ClusterRole, so the scan lists
    // ClusterRoles cluster-wide: the other namespace's is out of scope, not a leftover of a gone release.
    const elsewhere = await createNamespace("hooks-elsewhere");
    await helm("v3", ["install", "shop", fixtureChart("realworld"), "-n", ns]);
    await helm("v3", ["install", "shop", fixtureChart("realworld"), "-n", elsewhere]);
    const scoped = await scanJson([ns]);
    assert.deepEqual(scoped.json.goneReleases, []);
    assert.equal(scoped.code, 0);
  });
});
