import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { resolveConfig } from "../config/config.ts";
import { SelfMetrics } from "../metrics/self-metrics.ts";
import { SnapshotStore } from "../server/store.ts";
import { parseExposition } from "../testing/metrics-text.ts";
import { SCANNER_NICENESS, startScannerThread, type ScannerThread } from "./scanner-thread.ts";

function kubeconfig(server: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-scanner-thread-")), "kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "test",
      contexts: [{ name: "test", context: { cluster: "test", user: "test" } }],
      clusters: [{ name: "test", cluster: { server } }],
      users: [{ name: "test", user: { token: "t" } }],
    }),
  );
  return file;
}

const options = (flags: Record<string, string>) => ({
  config: resolveConfig({ flags: { "log.level": "error", ...flags }, env: {} }),
  store: new SnapshotStore(),
  metrics: new SelfMetrics({ processMetrics: false }),
  onFailure: (error: Error) => {
    assert.fail(`the scanner thread failed: ${error.message}`);
  },
});

describe("scanner thread", () => {
  it("fails to start, with the reason, when it cannot connect", async () => {
    await assert.rejects(
      startScannerThread(options({ kubeconfig: "/nonexistent/kubeconfig" })),
      /\/nonexistent\/kubeconfig/,
    );
  });

  it(
    "runs within --scan.heap-limit, and says so when the scanner runs out of heap",
    { timeout: 30_000 },
    async () => {
      // An API server whose every answer is 96 MiB of JSON: more than a 64Mi heap can hold.
      const huge = JSON.stringify({
        kind: "List",
        metadata: { resourceVersion: "1" },
        items: Array.from({ length: 96 }, (_, i) => ({
          metadata: { name: `s${String(i)}`, annotations: { a: "x".repeat(2 ** 20) } },
        })),
      });
      const api = http.createServer((_request, response) => {
        response.writeHead(200, { "Content-Type": "application/json" });
        response.end(huge);
      });
      api.listen(0, "127.0.0.1");
      await once(api, "listening");
      try {
        const { port } = api.address() as AddressInfo;
        let failedWith: (error: Error) => void = () => undefined;
        const failed = new Promise<Error>((resolve) => {
          failedWith = resolve;
        });
        const thread = await startScannerThread({
          ...options({
            kubeconfig: kubeconfig(`http://127.0.0.1:${String(port)}`),
            "scan.heap-limit": "64Mi",
          }),
          onFailure: (error) => {
            failedWith(error);
          },
        });
        assert.match((await failed).message, /out of memory.*--scan\.heap-limit is 64Mi; raise it/);
        await thread.stop();
      } finally {
        api.close();
      }
    },
  );

  it("scans in its own thread, relays what it counted, and ends when stopped", async () => {
    // An API server that forbids everything: each scan fails fast, and is counted.
    const api = http.createServer((_request, response) => {
      response.writeHead(403, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ kind: "Status", code: 403, reason: "Forbidden", message: "no" }));
    });
    api.listen(0, "127.0.0.1");
    await once(api, "listening");
    let thread: ScannerThread | undefined;
    try {
      const { port } = api.address() as AddressInfo;
      const started = options({ kubeconfig: kubeconfig(`http://127.0.0.1:${String(port)}`) });
      thread = await startScannerThread(started);
      const sample = async (name: string) =>
        parseExposition(await started.metrics.registry.metrics()).filter((s) => s.name === name);
      for (let tries = 0; (await sample("helm_drift_exporter_scans_total")).length === 0; tries++) {
        assert.ok(tries < 100, "a scan is counted");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Counted with its publication, in the same message.
      assert.deepEqual(
        (await sample("helm_drift_exporter_scans_total")).map((s) => [s.labels.result, s.value]),
        [["partial", 1]],
      );
      assert.match(
        started.store.current?.releasesBody.toString() ?? "",
        /^\{"scan":\{.*"success":false\},"releases":\[\]\}$/,
      );
      const requests = await sample("helm_drift_exporter_kube_api_request_errors_total");
      assert.ok(
        requests.some((s) => s.value > 0),
        "its failed requests are counted",
      );
      assert.ok((await sample("helm_drift_exporter_scanner_heap_used_bytes"))[0]?.value);
      if (process.platform === "linux") {
        // Field 19 of a task's stat is its niceness; the command name (field 2) may hold spaces.
        const niceness = (task: string) =>
          Number(readFileSync(`/proc/self/task/${task}/stat`, "utf8").split(") ")[1]?.split(" ")[16]);
        const tasks = readdirSync("/proc/self/task");
        assert.equal(niceness(String(process.pid)), 0, "the serving thread keeps its priority");
        assert.ok(
          tasks.some((task) => niceness(task) === SCANNER_NICENESS),
          "the scanner thread gives way to it",
        );
      }
    } finally {
      await thread?.stop();
      api.close();
    }
  });
});
