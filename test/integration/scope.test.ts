/**
 * Scope by release glob and namespace selector, and the metric allow and deny lists, against the
 * real control plane with real helm: a release out of scope is neither reported nor ever gone,
 * relabelling a namespace moves its releases in and out, and the lists shape a real scrape.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createNamespace, grantUnprivileged, run } from "../support/cluster.ts";
import {
  scanJson,
  scrapeAfterFirstScan,
  startServer,
  waitReady,
  type ScanJson,
} from "../support/exporter.ts";
import { fixtureChart, helm } from "../support/helm.ts";
import { parseExposition } from "../support/metrics-text.ts";
import { pollUntil } from "../support/poll.ts";

const releasesOf = (json: ScanJson) =>
  json.releases.map((release) => `${release.namespace}/${release.release}`);

/** Series of a metric family in a scrape, as `namespace/release`. */
function releasesIn(metrics: string, name = "helm_release_revision"): string[] {
  return parseExposition(metrics)
    .filter((sample) => sample.name === name)
    .map((sample) => `${sample.labels.namespace ?? ""}/${sample.labels.release ?? ""}`)
    .sort();
}

describe("scope", { concurrency: true }, () => {
  it("leaves a release out by glob: not reported, its objects and hooks not judged gone, its records not read", async () => {
    const ns = await createNamespace("scope-glob");
    // h has hooks that stay (a Secret) and an object kept on uninstall: all would be reported
    // as belonging to a gone release if h, out of scope, were taken for deleted.
    await helm("v3", ["install", "h", fixtureChart("hooks"), "-n", ns]);
    await helm("v4", ["install", "web", fixtureChart("smoke"), "-n", ns]);

    const all = await scanJson([ns]);
    assert.deepEqual(releasesOf(all.json).sort(), [`${ns}/h`, `${ns}/web`]);

    for (const args of [
      ["--exclude-releases", "h"],
      ["--releases", `${ns}/w*`],
      ["--releases", "*", "--exclude-releases", `${ns}/?`],
    ]) {
      const scan = await scanJson([ns], args);
      assert.deepEqual(releasesOf(scan.json), [`${ns}/web`], args.join(" "));
      assert.deepEqual(scan.json.goneReleases, [], `${args.join(" ")}: h is out of scope, not gone`);
      assert.deepEqual(scan.json.unreferencedHooks, [], `${args.join(" ")}: h's hooks are not orphans`);
      assert.equal(scan.code, 0, scan.stderr);
    }

    // The other way round: h, in scope, still sees its own hooks though web, out of scope, shares
    // the namespace (only the verdict "unreferenced" waits for a namespace without such a release).
    // h-pre's policy deletes it once it succeeded: made again by hand, it is left behind.
    await run("kubectl", ["-n", ns, "create", "configmap", "h-pre", "--from-literal=step=again"]);
    await run("kubectl", [
      "-n",
      ns,
      "annotate",
      "configmap",
      "h-pre",
      "helm.sh/hook=pre-install,pre-upgrade",
    ]);
    const withLeftHook = await scanJson([ns]);
    const onlyH = await scanJson([ns], ["--exclude-releases", "web"]);
    assert.deepEqual(
      withLeftHook.release("h").hooks?.orphaned.map((hook) => `${hook.name} ${hook.reason}`),
      ["h-pre succeeded_not_deleted"],
    );
    assert.deepEqual(onlyH.release("h").hooks, withLeftHook.release("h").hooks);

    // Records read: web's one revision; h's two Secrets' records never fetched (listed metadata-only).
    const metrics = await scrapeAfterFirstScan(["--namespaces", ns, "--exclude-releases", "h"]);
    assert.deepEqual(releasesIn(metrics), [`${ns}/web`]);
    const gets = parseExposition(metrics).find(
      (sample) =>
        sample.name === "helm_drift_exporter_kube_api_requests_total" &&
        sample.labels.verb === "get" &&
        sample.labels.resource === "secrets",
    );
    assert.equal(gets?.value, 1, "one record GET: web's revision 1");
  });

  it("follows a namespace selector: relabelling a namespace moves its releases in and out, never gone", async () => {
    const key = `hde-scope-${randomBytes(3).toString("hex")}`;
    const inside = await createNamespace("scope-in");
    const outside = await createNamespace("scope-out");
    await run("kubectl", ["label", "namespace", inside, `${key}=yes`]);
    await helm("v3", ["install", "a", fixtureChart("hooks"), "-n", inside]);
    await helm("v4", ["install", "b", fixtureChart("hooks"), "-n", outside]);

    const server = await startServer([
      "--namespaces",
      `${inside},${outside}`,
      "--namespace-selector",
      `${key}=yes`,
      "--schedule",
      "*/2 * * * * *",
    ]);
    const scrape = async () => (await fetch(`${server.url}/metrics`)).text();
    const json = async () => (await (await fetch(`${server.url}/api/v1/releases`)).json()) as ScanJson;
    const settle = (what: string, expected: string[]) =>
      pollUntil(what, async () => {
        const found = releasesIn(await scrape());
        return JSON.stringify(found) === JSON.stringify(expected) ? found : undefined;
      });
    try {
      await waitReady(server);
      assert.deepEqual(releasesIn(await scrape()), [`${inside}/a`]);
      let api = await json();
      assert.deepEqual(releasesOf(api), [`${inside}/a`]);
      assert.deepEqual(api.goneReleases, [], "b's namespace is not selected: b is not gone");
      assert.deepEqual(api.unreferencedHooks, [], "nor are its hooks orphans");

      await run("kubectl", ["label", "namespace", outside, `${key}=yes`]);
      await settle("b to come into scope", [`${inside}/a`, `${outside}/b`]);

      await run("kubectl", ["label", "namespace", inside, `${key}-`]);
      await settle("a to leave scope", [`${outside}/b`]);
      api = await json();
      assert.deepEqual(releasesOf(api), [`${outside}/b`]);
      assert.deepEqual(api.goneReleases, [], "a left the scope; it was not deleted");
      assert.deepEqual(api.unreferencedHooks, []);
      assert.ok(
        !(await scrape()).includes(`helm_orphaned_hook_resources{namespace="${inside}"}`),
        "a's hooks are not counted as orphans",
      );
    } finally {
      await server.stop();
    }
  });

  it("follows a namespace selector with an identity that may only read its namespaces by name", async () => {
    const key = `hde-scope-${randomBytes(3).toString("hex")}`;
    const inside = await createNamespace("scope-role-in");
    const outside = await createNamespace("scope-role-out");
    await run("kubectl", ["label", "namespace", inside, `${key}=yes`]);
    await helm("v3", ["install", "a", fixtureChart("smoke"), "-n", inside]);
    await helm("v4", ["install", "b", fixtureChart("smoke"), "-n", outside]);
    // What the chart's namespaced mode grants: reads in each namespace, no cluster-wide list.
    for (const namespace of [inside, outside])
      await grantUnprivileged(namespace, "reader", [
        { apiGroups: ["*"], resources: ["*"], verbs: ["get", "list", "watch"] },
      ]);
    const scan = await scanJson(
      [inside, outside],
      ["--context", "unprivileged", "--namespace-selector", `${key}=yes`],
    );
    assert.equal(scan.json.scan.success, true, scan.stderr);
    assert.deepEqual(releasesOf(scan.json), [`${inside}/a`]);
    assert.deepEqual(scan.json.goneReleases, []);
  });

  it("checks selectors as the apiserver does", async () => {
    const cases: [string, boolean][] = [
      ["team=payments", true],
      ["env in (prod, )", true],
      ["!example.com/skip", true],
      ["tier>1", true],
      ["team=", true],
      ["team=pay ments", false],
      ["env in (prod", false],
      ["Bad_Prefix/x=y", false],
      ["tier>high", false],
      ["team=payments,", false],
    ];
    const { labelSelectorProblem } = await import("../../src/model/label-selector.ts");
    for (const [selector, accepted] of cases) {
      const answer = await run("kubectl", [
        "get",
        "--raw",
        `/api/v1/namespaces?limit=1&labelSelector=${encodeURIComponent(selector)}`,
      ]).then(
        () => true,
        () => false,
      );
      assert.equal(answer, accepted, `the apiserver on ${JSON.stringify(selector)}`);
      assert.equal(
        labelSelectorProblem(selector) === undefined,
        accepted,
        `ours on ${JSON.stringify(selector)}`,
      );
    }
  });

  it("matches namespaces' labels as the apiserver does", async () => {
    const namespace = await createNamespace("scope-match");
    await run("kubectl", ["label", "namespace", namespace, "team=payments", "env=prod", "tier=3", "skip="]);
    const labels = JSON.parse(
      (await run("kubectl", ["get", "namespace", namespace, "-o", "jsonpath={.metadata.labels}"])).stdout,
    ) as Record<string, string>;
    const { matchesLabelSelector, parseLabelSelector } = await import("../../src/model/label-selector.ts");
    for (const selector of [
      "team=payments",
      "team!=payments",
      "owner!=x",
      "env in (prod, staging)",
      "env notin (prod)",
      "owner notin (x)",
      "skip",
      "skip=",
      "!skip",
      "tier>2",
      "tier<3",
      "team>1",
      "team=payments,env=dev",
    ]) {
      const listed = await run("kubectl", [
        "get",
        "namespaces",
        "-l",
        selector,
        "--field-selector",
        `metadata.name=${namespace}`,
        "-o",
        "name",
      ]);
      const requirements = parseLabelSelector(selector);
      if (typeof requirements === "string") assert.fail(`${selector}: ${requirements}`);
      assert.equal(
        matchesLabelSelector(requirements, labels),
        listed.stdout.trim() !== "",
        `ours and the apiserver's on ${JSON.stringify(selector)}`,
      );
    }
  });
});

describe("metric lists", () => {
  it("shape a real scrape: the release metrics they name or leave, the exporter's own always", async () => {
    const ns = await createNamespace("metric-lists");
    await helm("v3", ["install", "shop", fixtureChart("smoke"), "-n", ns]);
    const names = (metrics: string) => new Set(parseExposition(metrics).map((sample) => sample.name));

    const denied = names(
      await scrapeAfterFirstScan([
        "--namespaces",
        ns,
        "--metric-denylist",
        "helm_release_info,helm_release_drift.*",
      ]),
    );
    assert.ok(!denied.has("helm_release_info"));
    assert.ok(![...denied].some((name) => name.startsWith("helm_release_drift")));
    assert.ok(denied.has("helm_release_status") && denied.has("helm_release_revision"));
    assert.ok(denied.has("helm_drift_exporter_last_scan_success"));

    const allowed = names(
      await scrapeAfterFirstScan(["--namespaces", ns, "--metric-allowlist", "helm_release_status"]),
    );
    assert.deepEqual(
      [...allowed].filter((name) => name.startsWith("helm_release_") || name.startsWith("helm_orphaned_")),
      ["helm_release_status"],
    );
    assert.ok(allowed.has("helm_drift_exporter_scans_total") && allowed.has("process_resident_memory_bytes"));
  });
});
