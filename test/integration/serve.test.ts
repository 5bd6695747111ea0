/** The long-running exporter against the real control plane: scrape, lint, refresh, stop. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { createNamespace } from "../support/cluster.ts";
import { startServer, waitReady } from "../support/exporter.ts";
import { fixtureChart, helm } from "../support/helm.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(text);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      resolve({ code, output });
    }),
  );
}

describe("serve", () => {
  it("serves release metrics that promtool accepts, drops gone releases, and stops on SIGTERM", async () => {
    const ns = await createNamespace("serve");
    await helm("v3", ["install", "shop", fixtureChart("smoke"), "-n", ns]);
    await helm("v4", ["install", "cart", fixtureChart("smoke"), "-n", ns]);
    const server = await startServer(["--namespaces", ns, "--schedule", "*/2 * * * * *"]);
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      await waitReady(server);

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(`helm_release_status\\{namespace="${ns}",release="shop",status="deployed"\\} 1`),
      );
      assert.match(
        metrics,
        new RegExp(
          `helm_release_info\\{namespace="${ns}",release="cart",chart="smoke",chart_version="0.1.0",app_version="1.0.0",storage="secret"\\} 1`,
        ),
      );
      assert.match(metrics, /helm_drift_exporter_last_scan_success 1/);
      assert.match(
        metrics,
        /helm_drift_exporter_kube_api_requests_total\{verb="list",resource="secrets"\} \d+/,
      );
      assert.match(metrics, /process_resident_memory_bytes \d+/);

      const lint = await promtoolCheckMetrics(metrics);
      assert.equal(lint.code, 0, `promtool check metrics:\n${lint.output}`);
      assert.equal(lint.output.trim(), "", `promtool has remarks:\n${lint.output}`);

      await helm("v3", ["uninstall", "shop", "-n", ns]);
      await waitUntil("shop's series to disappear", async () => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        return text.includes(`release="shop"`) ? undefined : text;
      });
      const api = (await (await fetch(`${server.url}/api/v1/releases/${ns}/cart`)).json()) as {
        release: { status: string };
      };
      assert.equal(api.release.status, "deployed");
    } finally {
      const started = Date.now();
      const code = await server.stop();
      assert.equal(code, 0, `exit on SIGTERM:\n${server.logs()}`);
      assert.ok(Date.now() - started < 10_000, "stops promptly");
    }
    assert.match(server.logs(), /"msg":"stopped"/);
  });
});
