/** The long-running exporter against the real control plane: scrape, lint, refresh, stop. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { createPki } from "../../controlplane/pki.ts";
import { createNamespace } from "../support/cluster.ts";
import { pollUntil } from "../support/poll.ts";
import { startServer, waitReady } from "../support/exporter.ts";
import { fixtureChart, helm } from "../support/helm.ts";

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
  it("serves release metrics that promtool accepts, drops gone releases, and stops on SIGTERM", async (t) => {
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
      await pollUntil("shop's series to disappear", async () => {
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
      t.diagnostic(`stopped ${String(Date.now() - started)} ms after SIGTERM`);
    }
    assert.match(server.logs(), /"msg":"stopped"/);
  });

  it("serves over TLS with basic auth from --web.config.file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hde-webtls-"));
    const pki = createPki(dir);
    const config = path.join(dir, "web.yml");
    writeFileSync(
      config,
      [
        "tls_server_config:",
        `  cert_file: ${path.basename(pki.serverCert)}`,
        `  key_file: ${path.basename(pki.serverKey)}`,
        "basic_auth_users:",
        `  prometheus: "${bcrypt.hashSync("scrape-me", 4)}"`,
      ].join("\n"),
    );
    const server = await startServer(["--namespaces", "default", "--web.config.file", config]);
    try {
      const get = (pathname: string, auth?: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const url = new URL(pathname, server.url.replace("http:", "https:"));
          https
            .get(url, { ca: readFileSync(pki.caCert), ...(auth && { auth }) }, (response) => {
              let body = "";
              response.on("data", (chunk: Buffer) => (body += chunk.toString()));
              response.on("end", () => {
                resolve({ status: response.statusCode ?? 0, body });
              });
            })
            .on("error", reject);
        });
      assert.equal((await get("/healthz")).status, 200);
      assert.equal((await get("/metrics")).status, 401);
      assert.equal((await get("/metrics", "prometheus:wrong")).status, 401);
      const scrape = await get("/metrics", "prometheus:scrape-me");
      assert.equal(scrape.status, 200);
      assert.match(scrape.body, /helm_drift_exporter_build_info/);
      await assert.rejects(fetch(`${server.url}/healthz`), "plain HTTP is not served");
    } finally {
      await server.stop();
    }
  });
});
