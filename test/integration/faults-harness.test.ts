/**
 * The fault helpers do what they say, against the real kube-apiserver and etcd: restarting,
 * killing and pausing the apiserver of a private control plane, cutting the network path with
 * the TCP proxy, throttling one user with API Priority and Fairness, and narrowing RBAC.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { CLUSTER_INFO_FILE } from "../../controlplane/cluster-info.ts";
import { Faults } from "../../controlplane/faults.ts";
import { apiRequest, apiWatch, type ApiResponse } from "../support/api-request.ts";
import {
  clusterInfo,
  createNamespace,
  grantUnprivileged,
  loadKubeConfig,
  replaceUnprivilegedGrant,
  revokeUnprivileged,
  waitForUnprivilegedAccess,
  writeKubeconfigVia,
} from "../support/cluster.ts";
import { pollUntil } from "../support/poll.ts";
import { startPrivateControlPlane, type PrivateControlPlane } from "../support/private-cluster.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { flood, throttle } from "../support/throttle.ts";

/** Gives a broken fault a chance to show (an answer that should not come); never needed to pass. */
const GRACE_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The error code of a request that got no HTTP answer, or the status it got. */
async function outcome(request: Promise<ApiResponse>): Promise<string | number> {
  try {
    return (await request).status;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

describe("fault harness", () => {
  let plane: PrivateControlPlane;
  let namespace: string;
  before(async () => {
    plane = await startPrivateControlPlane();
    namespace = await createNamespace("faults", plane.info);
  });
  after(async () => {
    await plane.stop();
  });

  const configMap = (name: string) =>
    plane
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { kept: "yes" } } });
  const readConfigMap = (name: string) =>
    apiRequest(plane.info, plane.info.admin, `/api/v1/namespaces/${namespace}/configmaps/${name}`);

  it("refuses faults on a control plane started without them, as the shared one is", () => {
    assert.throws(() => new Faults(clusterInfo()), /takes no faults/);
  });

  it("restarts the apiserver on the same URL with the same data, and clients reconnect", async (t) => {
    await configMap("before-restart");
    const core = plane.kubeConfig().makeApiClient(CoreV1Api); // its connections predate the restart
    await core.readNamespace({ name: namespace });

    const restart = await plane.faults.restart("kube-apiserver", { waitReady: false });
    assert.equal(restart.state, "running");
    // Every answer from the moment the new process runs until it serves the ConfigMap.
    const seen: (string | number)[] = [];
    const started = performance.now();
    await pollUntil(
      "the restarted apiserver to serve the ConfigMap",
      async () => {
        const answer = await outcome(readConfigMap("before-restart"));
        if (seen.at(-1) !== answer) seen.push(answer);
        return answer === 200 ? true : undefined;
      },
      undefined,
      20,
    );
    t.diagnostic(`stopped in ${String(restart.stopMs)} ms (SIGTERM)`);
    t.diagnostic(
      `first 200 after ${(performance.now() - started).toFixed(0)} ms; answers seen: ${seen.join(" → ")}`,
    );

    assert.equal((await core.readNamespace({ name: namespace })).metadata?.name, namespace, "the old client");
    const graceful = await plane.faults.restart();
    t.diagnostic(
      `a restart waiting for /readyz: stop ${String(graceful.stopMs)} ms, ready ${String(graceful.readyMs)} ms`,
    );
    assert.equal(graceful.state, "running");
    assert.notEqual(graceful.pid, restart.pid);
    assert.equal((await readConfigMap("before-restart")).status, 200);
  });

  it("sees 429 'storage is (re)initializing' only if it comes: reports what the first requests get", async (t) => {
    const restart = await plane.faults.restart("kube-apiserver", { signal: "SIGKILL", waitReady: false });
    const statuses = new Map<string, number>();
    let rejection: ApiResponse | undefined;
    await pollUntil(
      "a 200 after the restart",
      async () => {
        const answer = await apiRequest(
          plane.info,
          plane.info.admin,
          `/api/v1/namespaces/${namespace}/configmaps`,
        ).catch((error: unknown) => (error as NodeJS.ErrnoException).code ?? "error");
        const key = typeof answer === "string" ? answer : String(answer.status);
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (typeof answer !== "string" && answer.status === 429) rejection ??= answer;
        return typeof answer !== "string" && answer.status === 200 ? true : undefined;
      },
      undefined,
      5,
    );
    t.diagnostic(
      `killed in ${String(restart.stopMs)} ms; answers until the first 200: ${JSON.stringify([...statuses])}`,
    );
    if (rejection) {
      t.diagnostic(
        `429: Retry-After ${String(rejection.headers["retry-after"])}, ${rejection.body.slice(0, 200)}`,
      );
    }
    assert.equal(statuses.get("200"), 1);
  });

  it("kills the apiserver: connections are refused until it is started again, and that is no crash", async () => {
    const killed = await plane.faults.kill();
    assert.equal(killed.state, "stopped");
    try {
      assert.equal(await outcome(readConfigMap("before-restart")), "ECONNREFUSED");
      await sleep(GRACE_MS); // the supervisor would have shut everything down by now
      assert.equal(await outcome(readConfigMap("before-restart")), "ECONNREFUSED", "still down");
      assert.ok(existsSync(path.join(plane.info.dir, CLUSTER_INFO_FILE)), "the supervisor carries on");
      process.kill(plane.info.supervisorPid, 0);
    } finally {
      await plane.faults.start();
    }
    assert.equal((await readConfigMap("before-restart")).status, 200);
  });

  it("pauses the apiserver: a request waits, unanswered, and is answered once it resumes", async () => {
    await plane.faults.pause();
    let answer: number | string | undefined;
    const request = outcome(readConfigMap("before-restart")).then((result) => (answer = result));
    try {
      await sleep(GRACE_MS);
      assert.equal(answer, undefined, "no answer while paused");
    } finally {
      await plane.faults.resume();
    }
    assert.equal(await request, 200);
  });

  describe("TCP proxy", () => {
    let proxy: TcpProxy;
    let via: string;
    before(async () => {
      proxy = await TcpProxy.start(plane.info.server);
      via = writeKubeconfigVia(proxy.url, plane.info);
    });
    after(async () => {
      await proxy.close();
    });
    const throughProxy = () =>
      apiRequest(plane.info, plane.info.admin, `/api/v1/namespaces/${namespace}`, { server: proxy.url });
    const watchConfigMaps = (server?: string) =>
      apiWatch(plane.info, plane.info.admin, `/api/v1/namespaces/${namespace}/configmaps?resourceVersion=0`, {
        ...(server && { server }),
      });
    const named = (
      watch: { events: readonly { object: { metadata?: { name?: string } } }[] },
      name: string,
    ) => watch.events.some((event) => event.object.metadata?.name === name);

    it("passes: a client with its kubeconfig talks TLS to the apiserver through it", async () => {
      const core = loadKubeConfig(via).makeApiClient(CoreV1Api);
      assert.equal((await core.readNamespace({ name: namespace })).metadata?.name, namespace);
      const unprivileged = loadKubeConfig(via, "unprivileged").makeApiClient(CoreV1Api);
      await assert.rejects(unprivileged.readNamespace({ name: namespace }), /403|forbidden/i);
      assert.ok(proxy.counters().forwardedDown > 0);
    });

    it("black-holes: open and new connections get nothing, and carry on when it heals", async (t) => {
      const direct = await watchConfigMaps();
      const proxied = await watchConfigMaps(proxy.url);
      try {
        // Quiet first: the proxied watch has everything it was sent, so what is held later is new.
        await configMap("before-black-hole");
        await pollUntil("the proxied watch to see the first ConfigMap", () =>
          Promise.resolve(named(proxied, "before-black-hole") ? true : undefined),
        );
        await proxy.setMode("black-hole");
        const before = proxy.counters();
        await configMap("during-black-hole");
        await pollUntil("the direct watch to see the new ConfigMap", () =>
          Promise.resolve(named(direct, "during-black-hole") ? true : undefined),
        );
        await pollUntil("the apiserver's event to be held by the proxy", () =>
          Promise.resolve(proxy.counters().held > 0 ? true : undefined),
        );
        const heldEvent = proxy.counters().held;
        const fresh = outcome(throughProxy());
        let freshAnswer: string | number | undefined;
        void fresh.then((result) => (freshAnswer = result));
        await pollUntil("a new connection's first bytes to be held", () =>
          Promise.resolve(proxy.counters().held > heldEvent ? true : undefined),
        );
        await sleep(GRACE_MS);
        const during = proxy.counters();
        t.diagnostic(`black-holed: ${JSON.stringify(during)}`);
        assert.equal(named(proxied, "during-black-hole"), false, "the proxied watch saw nothing");
        assert.equal(freshAnswer, undefined, "a new connection hangs");
        assert.deepEqual(
          [during.forwardedUp, during.forwardedDown],
          [before.forwardedUp, before.forwardedDown],
          "nothing forwarded either way",
        );

        await proxy.setMode("pass");
        assert.equal(await fresh, 200, "the held request is answered");
        await pollUntil("the proxied watch to receive the held event", () =>
          Promise.resolve(named(proxied, "during-black-hole") ? true : undefined),
        );
      } finally {
        await proxy.setMode("pass");
        direct.close();
        proxied.close();
      }
    });

    it("refuses: new connections are refused, open ones reset, and the same port serves again", async () => {
      const proxied = await watchConfigMaps(proxy.url);
      await proxy.setMode("refuse");
      try {
        assert.equal(await outcome(throughProxy()), "ECONNREFUSED");
        assert.equal(await proxied.ended, "ECONNRESET");
      } finally {
        await proxy.setMode("pass");
      }
      assert.equal(await outcome(throughProxy()), 200);
    });
  });

  describe("throttling with API Priority and Fairness", () => {
    const asUnprivileged = () =>
      apiRequest(plane.info, plane.info.unprivileged, `/api/v1/namespaces/${namespace}`);

    it("one seat: with it held, each other request of the user gets 429 and Retry-After", async (t) => {
      const limit = await throttle("one", undefined, plane.info);
      try {
        assert.deepEqual([limit.seats, limit.concurrency], [0, 1]);
        const serial = await flood(plane.info, plane.info.unprivileged, { concurrency: 1, total: 20 });
        assert.deepEqual(serial.statuses, { 403: 20 }, "one at a time is never rejected");

        const saturation = await limit.saturate();
        try {
          const rejected = await asUnprivileged();
          assert.equal(rejected.status, 429);
          assert.match(String(rejected.headers["retry-after"]), /^\d+$/);
          t.diagnostic(
            `429 Retry-After: ${String(rejected.headers["retry-after"])}, ${String(rejected.headers["content-type"])}: ${JSON.stringify(rejected.body)}`,
          );
          const admin = await apiRequest(plane.info, plane.info.admin, `/api/v1/namespaces/${namespace}`);
          assert.equal(admin.status, 200, "other identities are untouched");
        } finally {
          await saturation.release();
        }
        assert.equal((await asUnprivileged()).status, 403, "released: served again");
      } finally {
        await limit.remove();
      }
      assert.equal((await asUnprivileged()).status, 403, "removed: plain RBAC again");
    });

    it("a few seats: reports the concurrent load that gets 429s, and saturate() holds every seat", async (t) => {
      // Answered requests, as the exporter's are: a 403 is answered so fast that even 64 at once
      // rarely occupy 3 seats together.
      await grantUnprivileged(
        namespace,
        "flood",
        [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
        plane.info,
      );
      await waitForUnprivilegedAccess({ namespace, verb: "get", resource: "configmaps" }, true, plane.info);
      const limit = await throttle("few", undefined, plane.info);
      try {
        t.diagnostic(`nominal seats: ${String(limit.seats)}`);
        assert.ok(limit.seats > 1);
        // Reported, not asserted: how much concurrency it takes depends on the machine.
        for (const concurrency of [2, 4, 8, 16, 32]) {
          const result = await flood(plane.info, plane.info.unprivileged, {
            concurrency,
            total: concurrency * 20,
            path: `/api/v1/namespaces/${namespace}/configmaps/before-restart`,
          });
          t.diagnostic(`GET at concurrency ${String(concurrency)}: ${JSON.stringify(result.statuses)}`);
          assert.ok(
            result.retryAfter.every((value) => /^\d+$/.test(value)),
            "every 429 says when to retry",
          );
        }
        const saturation = await limit.saturate();
        try {
          assert.equal((await asUnprivileged()).status, 429);
        } finally {
          await saturation.release();
        }
      } finally {
        await limit.remove();
        await revokeUnprivileged(namespace, "flood", plane.info);
      }
    });
  });

  it("narrows and revokes the unprivileged identity's RBAC", async () => {
    const info = plane.info;
    const secrets = (verb: string) => ({ namespace, verb, resource: "secrets" });
    await grantUnprivileged(
      namespace,
      "reader",
      [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }],
      info,
    );
    await waitForUnprivilegedAccess(secrets("list"), true, info);
    const list = () => apiRequest(info, info.unprivileged, `/api/v1/namespaces/${namespace}/secrets`);
    assert.equal((await list()).status, 200);

    await replaceUnprivilegedGrant(
      namespace,
      "reader",
      [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
      info,
    );
    await waitForUnprivilegedAccess(secrets("list"), false, info);
    assert.equal((await list()).status, 403);
    await waitForUnprivilegedAccess(secrets("get"), true, info);

    await revokeUnprivileged(namespace, "reader", info);
    await waitForUnprivilegedAccess(secrets("get"), false, info);
  });
});
