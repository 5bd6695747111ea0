import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { resolveConfig } from "../config/config.ts";
import { Writable } from "node:stream";
import { createLogger } from "../log/logger.ts";
import { SelfMetrics } from "../metrics/self-metrics.ts";
import { PublicationStore } from "../server/store.ts";
import { parseExposition } from "../../test/support/metrics-text.ts";
import { SCANNER_NICENESS, startScanner, type Scanner } from "./scanner-process.ts";

function kubeconfig(server: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-scanner-")), "kubeconfig");
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

function capturedLogger() {
  let text = "";
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { logger: createLogger({ level: "error", format: "json", destination }), logs: () => text };
}

const options = (flags: Record<string, string>) => ({
  config: resolveConfig({ flags: { "log.level": "error", ...flags }, env: {} }),
  store: new PublicationStore(),
  metrics: new SelfMetrics({ processMetrics: false }),
  ...capturedLogger(),
});

/** A stand-in API server whose answers a test switches: everything forbidden, or 96 MiB lists. */
async function switchableApi() {
  // Every answer 96 MiB of JSON: more than a 64Mi heap can hold.
  const huge = JSON.stringify({
    kind: "List",
    metadata: { resourceVersion: "1" },
    items: Array.from({ length: 96 }, (_, i) => ({
      metadata: { name: `s${String(i)}`, annotations: { a: "x".repeat(2 ** 20) } },
    })),
  });
  let mode: "forbid" | "huge" = "forbid";
  const api = http.createServer((_request, response) => {
    if (mode === "huge") {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(huge);
      return;
    }
    response.writeHead(403, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ kind: "Status", code: 403, reason: "Forbidden", message: "no" }));
  });
  api.listen(0, "127.0.0.1");
  await once(api, "listening");
  const { port } = api.address() as AddressInfo;
  return {
    kubeconfig: kubeconfig(`http://127.0.0.1:${String(port)}`),
    answer: (next: typeof mode) => {
      mode = next;
    },
    close: () => api.close(),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  // Bounds only a hang; the test runner's own timeout is the real limit.
  for (let tries = 0; tries < 6000; tries++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`gave up waiting for ${what}`);
}

describe("scanner process", () => {
  it("fails to start, with the reason, when it cannot connect", async () => {
    await assert.rejects(
      startScanner(options({ kubeconfig: "/nonexistent/kubeconfig" })),
      /\/nonexistent\/kubeconfig/,
    );
  });

  it("outgrowing --scan.heap-limit fails the scan, keeps the last results and starts the thread again", async () => {
    const api = await switchableApi();
    const started = options({
      kubeconfig: api.kubeconfig,
      "scan.heap-limit": "64Mi",
      "release.max-decoded-bytes": "16Mi",
      schedule: "* * * * * *",
    });
    const sample = async (name: string, labels: Record<string, string>) =>
      parseExposition(await started.metrics.registry.metrics()).find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )?.value;
    let thread: Scanner | undefined;
    try {
      thread = await startScanner(started);
      const first = await until("a first scan's results", () => Promise.resolve(started.store.current));

      api.answer("huge");
      await until("a restart after running out of heap", () =>
        sample("helm_drift_exporter_scanner_restarts_total", { reason: "out_of_memory" }),
      );
      assert.ok(((await sample("helm_drift_exporter_scans_total", { result: "error" })) ?? 0) >= 1);
      assert.equal(started.store.current, first, "the last results stay served");
      assert.match(started.logs(), /--scan\.heap-limit is 64Mi; raise it/);

      api.answer("forbid");
      await until("a scan by the restarted thread", () =>
        Promise.resolve(started.store.current === first ? undefined : started.store.current),
      );
    } finally {
      await thread?.stop();
      api.close();
    }
  });

  it("scans in its own thread, relays what it counted, and ends when stopped", async () => {
    // An API server that forbids everything: each scan fails fast, and is counted.
    const api = http.createServer((_request, response) => {
      response.writeHead(403, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ kind: "Status", code: 403, reason: "Forbidden", message: "no" }));
    });
    api.listen(0, "127.0.0.1");
    await once(api, "listening");
    let thread: Scanner | undefined;
    try {
      const { port } = api.address() as AddressInfo;
      const started = options({ kubeconfig: kubeconfig(`http://127.0.0.1:${String(port)}`) });
      thread = await startScanner(started);
      const sample = async (name: string) =>
        parseExposition(await started.metrics.registry.metrics()).filter((s) => s.name === name);
      await until("a scan to be counted", async () =>
        (await sample("helm_drift_exporter_scans_total")).length > 0 ? true : undefined,
      );
      // Counted with its publication, in the same message: release storage could not be read.
      assert.deepEqual(
        (await sample("helm_drift_exporter_scans_total")).map((s) => [s.labels.result, s.value]),
        [["error", 1]],
      );
      assert.match(
        started.store.current?.releasesBody.toString() ?? "",
        /^\{"schemaVersion":1,"scan":\{.*"success":false,"outcome":"failed",.*"releases":\[\],/,
      );
      assert.equal(started.store.ready, false, "not ready: no scan has read release storage");
      const requests = await sample("helm_drift_exporter_kube_api_request_errors_total");
      assert.ok(
        requests.some((s) => s.value > 0 && s.labels.code === "403"),
        "its failed requests are counted, with the status the server answered",
      );
      assert.ok((await sample("helm_drift_exporter_scanner_heap_used_bytes"))[0]?.value);
      if (process.platform === "linux") {
        // Field 19 of a process's stat is its niceness; the command name (field 2) may hold spaces.
        const niceness = (pid: number) =>
          Number(
            readFileSync(`/proc/${String(pid)}/stat`, "utf8")
              .split(") ")[1]
              ?.split(" ")[16],
          );
        assert.equal(niceness(process.pid), 0, "the serving process keeps its priority");
        assert.equal(niceness(thread.pid ?? 0), SCANNER_NICENESS, "the scanner process gives way to it");
      }
    } finally {
      await thread?.stop();
      api.close();
    }
  });
});
