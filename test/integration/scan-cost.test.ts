/**
 * What a scan costs the apiserver, counted on the real control plane: release listing is
 * metadata-only, only the revisions an analysis needs are fetched, an unchanged revision
 * is never fetched or decoded twice, and live objects cost one list per kind. A serving
 * exporter lists each collection once and then only watches: a scan of an unchanged
 * cluster makes no request at all.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import v8 from "node:v8";
import { DEFAULT_DECODE_LIMITS } from "../../src/helm/decode.ts";
import { KubeClient, type RequestObserver } from "../../src/kube/client.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { LiveCopy } from "../../src/read/live-objects.ts";
import { LIST_PAGE_RECORDS } from "../../src/read/release-storage.ts";
import { createScanContext } from "../../src/scan/context.ts";
import { scan } from "../../src/scan/scanner.ts";
import { DEFAULT_DRIFT_OPTIONS } from "../../src/analysis/drift/drift.ts";
import { clusterInfo, createNamespace, run } from "../support/cluster.ts";
import { failUpgrade, fixtureChart, helm } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";

/**
 * Every scan: release storage (secrets, configmaps; metadata-only), one list per kind the
 * manifests use (configmaps, deployments) and the HPAs for drift, one list per hook kind
 * (jobs, pods, configmaps, secrets, serviceaccounts; metadata-only but jobs), and for
 * rollback readiness the namespaces (metadata-only: is the release's being deleted?).
 */
const LISTS_PER_SCAN = [
  "list configmaps",
  "list configmaps",
  "list configmaps",
  "list deployments",
  "list horizontalpodautoscalers",
  "list jobs",
  "list namespaces",
  "list pods",
  "list secrets",
  "list secrets",
  "list serviceaccounts",
];
const sorted = (requests: string[]) => [...requests].sort();
/**
 * A first scan, watched or not: discovery once, each release's latest revision (a's 3, b's 1),
 * a's rollback target (revision 2), and a's revision 1 for the API kinds it uses (is rolling
 * back to it possible?); then the lists. The rollback target's objects are the drift's own.
 */
const COLD_SCAN = sorted([
  "get discovery",
  "get discovery",
  "get secrets",
  "get secrets",
  "get secrets",
  "get secrets",
  ...LISTS_PER_SCAN,
]);
/** Records decoded by the first scan: each GET of a secret above. */
const COLD_DECODES = 4;

class Counter implements RequestObserver {
  readonly requests: string[] = [];
  openWatches = 0;
  /** Called with each request as it ends; a test can act on one (abort its scan, say). */
  onRequest: (request: string) => void = () => undefined;
  observe(request: { verb: string; resource: string }): void {
    this.requests.push(`${request.verb} ${request.resource}`);
    this.onRequest(`${request.verb} ${request.resource}`);
  }
  watching(_resource: string, delta: 1 | -1): void {
    this.openWatches += delta;
  }
  take(): string[] {
    return this.requests.splice(0).sort();
  }
}

async function installReleases(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix);
  const smoke = fixtureChart("smoke");
  await helm("v3", ["install", "a", smoke, "-n", ns]);
  await helm("v3", ["upgrade", "a", smoke, "-n", ns]);
  await helm("v3", ["upgrade", "a", smoke, "-n", ns]);
  await helm("v4", ["install", "b", smoke, "-n", ns]);
  return ns;
}

async function scanContext(ns: string, watch: boolean, watchTimeoutSeconds?: number) {
  const counter = new Counter();
  const client = await KubeClient.connect({ kubeconfig: clusterInfo().kubeconfig }, counter);
  const context = createScanContext({
    client,
    scope: { include: [ns], exclude: [] },
    watch,
    ...(watchTimeoutSeconds !== undefined && { watchTimeoutSeconds }),
    concurrency: 4,
    driftOptions: DEFAULT_DRIFT_OPTIONS,
    maxDecodedBytes: DEFAULT_DECODE_LIMITS.maxDecodedBytes,
    terminatingAfterMs: 600_000,
    logger: silentLogger,
  });
  const { reader, collections } = context;
  return {
    counter,
    reader,
    collections,
    context,
    close: () => {
      collections.close();
      client.close();
    },
  };
}

describe("scan cost", () => {
  it("one-shot: lists metadata once per storage kind and fetches each changed latest revision once", async () => {
    const ns = await installReleases("cost");
    const { counter, reader, context, close } = await scanContext(ns, false);
    try {
      const cold = await scan(context);
      assert.equal(cold.releases.length, 2);
      // 4 revisions stored, each fetched once: latest (also deployed), rollback target, older history.
      assert.deepEqual(counter.take(), COLD_SCAN);
      assert.equal(reader.decodeCount, COLD_DECODES);

      const warm = await scan(context);
      assert.deepEqual(warm.releases, cold.releases);
      assert.deepEqual(
        counter.take(),
        sorted(LISTS_PER_SCAN),
        "an unchanged cluster costs one list per kind, no GET",
      );
      assert.equal(reader.decodeCount, COLD_DECODES, "nothing decoded twice");
      // Collections outlive scans; nothing a scan read for its comparison may outlive it.
      assert.equal(v8.queryObjects(LiveCopy, { format: "count" }), 0, "no live copy outlives its scan");

      await failUpgrade("v3", "a", ns);
      const changed = await scan(context);
      assert.equal(changed.releases.find((r) => r.release === "a")?.status, "failed");
      assert.deepEqual(
        counter.take(),
        sorted(["get secrets", ...LISTS_PER_SCAN]),
        "only the new revision is fetched",
      );
      assert.equal(reader.decodeCount, COLD_DECODES + 1);
    } finally {
      close();
    }
  });

  it("serving: lists each collection once, then an unchanged cluster costs no request", async () => {
    const ns = await installReleases("watch");
    const { counter, reader, collections, context, close } = await scanContext(ns, true, 2);
    try {
      const cold = await scan(context);
      assert.equal(cold.releases.length, 2);
      assert.deepEqual(counter.take(), COLD_SCAN);
      assert.equal(counter.openWatches, LISTS_PER_SCAN.length, "one watch per listed collection");

      const warm = await scan(context);
      assert.deepEqual(warm.releases, cold.releases);
      assert.deepEqual(counter.take(), [], "an unchanged cluster costs no request");
      assert.equal(reader.decodeCount, COLD_DECODES, "nothing decoded twice");
      assert.equal(v8.queryObjects(LiveCopy, { format: "count" }), 0, "no live copy outlives its scan");

      // The server ends each watch after its timeout (2 s here): it resumes where it was, with no new list.
      await pollUntil("the watches to resume after their server-side timeout", () =>
        Promise.resolve(counter.requests.length >= LISTS_PER_SCAN.length ? true : undefined),
      );
      const resumed = counter.take();
      assert.ok(resumed.length >= LISTS_PER_SCAN.length, `watches resumed: ${resumed.join(", ")}`);
      assert.ok(
        resumed.every((request) => request.startsWith("watch ")),
        `only watches: ${resumed.join(", ")}`,
      );
      assert.equal(collections.listCount, LISTS_PER_SCAN.length, "no collection listed twice");

      // A change arrives through the watches; only the new revision is fetched.
      await failUpgrade("v3", "a", ns);
      await pollUntil("the failed upgrade to reach the watched storage", async () => {
        const snapshot = await scan(context);
        return snapshot.releases.find((r) => r.release === "a")?.status === "failed" ? snapshot : undefined;
      });
      assert.deepEqual(
        counter.take().filter((request) => !request.startsWith("watch ")),
        ["get secrets"],
        "only the new revision is fetched",
      );
      assert.equal(reader.decodeCount, COLD_DECODES + 1);
      assert.equal(collections.listCount, LISTS_PER_SCAN.length, "no collection listed twice");

      // Objects that leave the Helm-labelled lists: a deleted ConfigMap, a Deployment whose label was removed.
      await run("kubectl", ["-n", ns, "delete", "configmap", "b-config"]);
      await run("kubectl", ["-n", ns, "label", "deployment", "b-web", "app.kubernetes.io/managed-by-"]);
      const driftOfB = (snapshot: Awaited<ReturnType<typeof scan>>) =>
        snapshot.releases
          .find((r) => r.release === "b")
          ?.drift?.resources.map((r) => `${r.state} ${r.resource.kind}`)
          .sort()
          .join(", ");
      const drifted = await pollUntil("the deletion and the label removal to reach the watches", async () => {
        const snapshot = await scan(context);
        return driftOfB(snapshot) === "missing ConfigMap, modified Deployment" ? snapshot : undefined;
      });
      assert.deepEqual(
        counter.take().filter((request) => !request.startsWith("watch ")),
        ["get deployments", "list configmaps", "list deployments"],
        "the kinds' names are listed once (metadata-only), the unlabelled Deployment read once",
      );
      const again = await scan(context);
      assert.equal(driftOfB(again), driftOfB(drifted));
      assert.deepEqual(
        counter.take(),
        [],
        "known-missing and unchanged unlabelled objects cost nothing again",
      );
    } finally {
      close();
    }
  });

  it("an aborted scan publishes nothing and changes no state: no watch stopped, no date forgotten", async () => {
    const ns = await installReleases("abort");
    await run("kubectl", ["-n", ns, "delete", "configmap", "b-config"]);
    const { counter, collections, context, close } = await scanContext(ns, true);
    const missingSince = (snapshot: Awaited<ReturnType<typeof scan>>) =>
      snapshot.releases.find((r) => r.release === "b")?.drift?.resources.find((r) => r.state === "missing")
        ?.since;
    try {
      const first = missingSince(await scan(context));
      assert.ok(first, "a deleted object is dated from when it was first seen missing");
      counter.take();
      const listed = collections.listCount;

      // A new revision makes the next scan fetch it: the scan is aborted right then, mid-way.
      await helm("v3", ["upgrade", "a", fixtureChart("smoke"), "-n", ns, "--set", "greeting=abort"]);
      const controller = new AbortController();
      counter.onRequest = (request) => {
        if (request === "get secrets") controller.abort(new Error("scan timed out"));
      };
      const outcome = await pollUntil("the upgrade to reach the watched storage", async () => {
        const aborted = await scan({ ...context, signal: controller.signal }).then(
          () => undefined,
          (error: unknown) => error,
        );
        return controller.signal.aborted ? (aborted ?? new Error("the aborted scan resolved")) : undefined;
      });
      counter.onRequest = () => undefined;
      assert.match(
        outcome instanceof Error ? outcome.message : "",
        /scan timed out/,
        "the aborted scan ends as aborted, publishing nothing",
      );

      const after = await scan(context);
      assert.equal(collections.listCount, listed, "no collection was stopped, so none is listed again");
      assert.ok(!counter.take().some((request) => request.startsWith("list ")));
      assert.equal(missingSince(after)?.getTime(), first.getTime(), "the first-seen date is kept");
    } finally {
      close();
    }
  });

  it("a cold start lists a namespace's many records in pages instead of fetching each, and reads them once", async () => {
    const ns = await createNamespace("cost-many");
    const smoke = fixtureChart("smoke");
    // 21 revisions: more than LIST_AT_LEAST (16) unknown records, two pages of LIST_PAGE_RECORDS.
    await helm("v3", ["install", "a", smoke, "-n", ns]);
    // --history-max 0: helm upgrade keeps 10 revisions by default.
    for (let upgrade = 1; upgrade <= 20; upgrade++)
      await helm("v3", ["upgrade", "a", smoke, "-n", ns, "--history-max", "0"]);
    const stored = 21;
    const { counter, reader, context, close } = await scanContext(ns, false);
    try {
      const cold = await scan(context);
      assert.equal(cold.releases[0]?.readiness?.rollback.targetRevision, 20);
      const requests = counter.take();
      assert.ok(!requests.includes("get secrets"), `no record fetched one by one: ${requests.join(", ")}`);
      const secretLists = requests.filter((request) => request === "list secrets").length;
      const perScan = LISTS_PER_SCAN.filter((request) => request === "list secrets").length;
      assert.equal(secretLists, perScan + Math.ceil(stored / LIST_PAGE_RECORDS), "the records in pages");
      // Every revision decoded once: the latest, the rollback target, the older ones for their kinds.
      assert.equal(reader.decodeCount, stored);

      await scan(context);
      assert.ok(!counter.take().some((request) => request.startsWith("get ")), "nothing read again");
      assert.equal(reader.decodeCount, stored, "nor decoded again");
    } finally {
      close();
    }
  });
});
