/**
 * The apiserver itself in trouble, against the real exporter: killed, throttled with API
 * Priority and Fairness, cut off by a silent network partition. Whatever happens, what the
 * exporter serves stays the last truth, marked stale, never an empty or a wrong answer, and it
 * comes back by itself. Kills and throttling run on a control plane of this file's own.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Sample } from "../support/metrics-text.ts";
import { parseExposition } from "../support/metrics-text.ts";
import { clusterInfo, createNamespace, grantUnprivileged, writeKubeconfigVia } from "../support/cluster.ts";
import { startServer, waitReady, type Server } from "../support/exporter.ts";
import { fixtureChart, helm } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";
import { startPrivateControlPlane, type PrivateControlPlane } from "../support/private-cluster.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { throttle } from "../support/throttle.ts";

const smoke = fixtureChart("smoke");
/** Scans often, so that faults meet scans quickly; each bounded well under the wait below. */
const SERVE_FLAGS = ["--schedule", "*/3 * * * * *", "--scan.timeout", "90s"];
/** Long enough for a failed relist (a 30 s request timeout, or retries of refused connections). */
const FAULT_WAIT_MS = 300_000;

interface Stale {
  readonly status: string;
  readonly stale: { readonly since: string; readonly reason: string } | null;
}

async function release(server: Server, namespace: string, name: string): Promise<Stale | undefined> {
  const response = await fetch(`${server.url}/api/v1/releases/${namespace}/${name}`);
  return response.ok ? ((await response.json()) as { release: Stale }).release : undefined;
}

async function samples(server: Server): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${server.url}/metrics`)).text());
}

function value(
  all: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return all.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

async function untilStale(server: Server, namespace: string, name: string): Promise<Stale> {
  return pollUntil(
    `${namespace}/${name} to be served stale`,
    async () => {
      const current = await release(server, namespace, name);
      return current?.stale ? current : undefined;
    },
    FAULT_WAIT_MS,
  );
}

async function untilFresh(server: Server, namespace: string, name: string): Promise<void> {
  await pollUntil(
    `${namespace}/${name} to be fresh again`,
    async () => ((await release(server, namespace, name))?.stale === null ? true : undefined),
    FAULT_WAIT_MS,
  );
}

/** What must hold while the release cannot be seen: its last truth, stale, with its series. */
async function assertLastTruthServed(server: Server, namespace: string, stale: Stale): Promise<Sample[]> {
  assert.equal(stale.status, "deployed", "as last seen");
  const all = await samples(server);
  assert.equal(value(all, "helm_release_status", { namespace, release: "web", status: "deployed" }), 1);
  assert.equal(value(all, "helm_drift_exporter_stale_releases"), 1);
  assert.equal(value(all, "helm_drift_exporter_last_scan_success"), 0);
  assert.ok((value(all, "helm_drift_exporter_scans_total", { result: "error" }) ?? 0) >= 1, "failed scans");
  assert.ok(
    !all.some((s) => s.name === "helm_release_unreadable"),
    "a read that failed says nothing about the record",
  );
  assert.equal((await fetch(`${server.url}/readyz`)).status, 200, "still ready: it serves the last truth");
  return all;
}

describe("faults of the apiserver", { concurrency: true }, () => {
  // One private control plane, one fault at a time on it: a kill must not hit the throttle test.
  describe("on a control plane of its own", { concurrency: false }, () => {
    let plane: PrivateControlPlane;
    before(async () => {
      plane = await startPrivateControlPlane();
    });
    after(async () => {
      await plane.stop();
    });

    it("killed: the last truth stays served, stale, until it is back", async () => {
      const ns = await createNamespace("outage", plane.info);
      await helm("v3", ["install", "web", smoke, "-n", ns], plane.env);
      const server = await startServer(["--namespaces", ns, ...SERVE_FLAGS], {
        KUBECONFIG: plane.info.kubeconfig,
      });
      try {
        await waitReady(server);
        await plane.faults.kill();
        const stale = await untilStale(server, ns, "web");
        assert.match(stale.stale?.reason ?? "", /could not be listed/);
        await assertLastTruthServed(server, ns, stale);
        await plane.faults.start();
        await untilFresh(server, ns, "web");
      } finally {
        await server.stop();
      }
    });

    it("throttled (429 to every request): no release is unreadable, no object is fetched one by one", async () => {
      const ns = await createNamespace("throttled", plane.info);
      await helm("v3", ["install", "web", smoke, "-n", ns], plane.env);
      await grantUnprivileged(
        ns,
        "exporter",
        [
          {
            apiGroups: [""],
            resources: ["secrets", "configmaps", "pods", "serviceaccounts"],
            verbs: ["get", "list", "watch"],
          },
          { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"] },
          { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch"] },
        ],
        plane.info,
      );
      const server = await startServer(["--context", "unprivileged", "--namespaces", ns, ...SERVE_FLAGS], {
        KUBECONFIG: plane.info.kubeconfig,
      });
      const limit = await throttle("one", undefined, plane.info);
      try {
        await waitReady(server);
        const saturation = await limit.saturate();
        try {
          const all = await assertLastTruthServed(server, ns, await untilStale(server, ns, "web"));
          assert.equal(
            value(all, "helm_drift_exporter_kube_api_requests_total", {
              verb: "get",
              resource: "deployments",
            }),
            undefined,
            "objects are never fetched one by one because their kind could not be listed",
          );
        } finally {
          await saturation.release();
        }
        await limit.remove();
        await untilFresh(server, ns, "web");
      } finally {
        await limit.remove().catch(() => undefined);
        await server.stop();
      }
    });
  });

  it("cut off by a silent network partition: the partition is reported, not trusted", async () => {
    // The apiserver is untouched: the shared control plane will do, reached through a proxy.
    const info = clusterInfo();
    const ns = await createNamespace("partition", info);
    await helm("v3", ["install", "web", smoke, "-n", ns]);
    const proxy = await TcpProxy.start(info.server);
    const server = await startServer(["--namespaces", ns, ...SERVE_FLAGS], {
      KUBECONFIG: writeKubeconfigVia(proxy.url, info),
    });
    try {
      await waitReady(server);
      await proxy.setMode("black-hole");
      // Changes the exporter cannot see: it must stop claiming it sees all there is.
      await helm("v3", ["install", "newcomer", smoke, "-n", ns]);
      const stale = await untilStale(server, ns, "web");
      const all = await assertLastTruthServed(server, ns, stale);
      assert.ok((value(all, "helm_drift_exporter_data_age_seconds") ?? 0) > 0);
      await proxy.setMode("pass");
      await untilFresh(server, ns, "web");
      await pollUntil(
        "the release installed during the partition to appear",
        async () => ((await release(server, ns, "newcomer"))?.stale === null ? true : undefined),
        FAULT_WAIT_MS,
      );
    } finally {
      await server.stop();
      await proxy.close();
    }
  });
});
