import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import bcrypt from "bcryptjs";
import request from "supertest";
import { SelfMetrics } from "../metrics/self-metrics.ts";
import { createApp } from "./app.ts";
import { SnapshotStore } from "./store.ts";
import { loadWebConfig, WebConfigError } from "./web-config.ts";

const HASH = bcrypt.hashSync("s3cret", 4);

function file(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "hde-web-"));
  const target = path.join(dir, name);
  writeFileSync(target, text);
  return target;
}

function problems(text: string): string {
  try {
    loadWebConfig(file("web.yml", text));
  } catch (error) {
    assert.ok(error instanceof WebConfigError);
    return error.message;
  }
  assert.fail("expected a WebConfigError");
}

describe("web config file", () => {
  it("reads users, headers, and TLS files relative to the config file", () => {
    const config = file(
      "web.yml",
      `basic_auth_users:\n  prom: "${HASH}"\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
    );
    const loaded = loadWebConfig(config);
    assert.equal(loaded.users.get("prom"), HASH);
    assert.deepEqual(loaded.headers, { "X-Frame-Options": "deny" });
    assert.equal(loaded.tls, undefined);
    const dir = path.dirname(config);
    writeFileSync(path.join(dir, "tls.crt"), "cert");
    writeFileSync(path.join(dir, "tls.key"), "key");
    writeFileSync(
      path.join(dir, "web-tls.yml"),
      "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  min_version: TLS13\n",
    );
    const tls = loadWebConfig(path.join(dir, "web-tls.yml")).tls;
    assert.equal(tls?.cert.toString(), "cert");
    assert.equal(tls.minVersion, "TLSv1.3");
    assert.equal(tls.requestCert, false);
  });

  it("reports every problem with a clear message", () => {
    const text = problems(
      "basic_auth_users:\n  prom: plaintext\ntls_server_config:\n  cert_file: /nope.crt\n  client_auth_type: RequireAndVerifyClientCert\n  min_version: SSL3\nextra: 1\n",
    );
    assert.match(text, /unknown key "extra"/);
    assert.match(text, /basic_auth_users\.prom: must be a bcrypt hash/);
    assert.match(text, /cert_file: cannot read \/nope\.crt/);
    assert.match(text, /needs cert_file and key_file/);
    assert.match(text, /RequireAndVerifyClientCert needs client_ca_file/);
    assert.match(text, /min_version: one of TLS10/);
  });
});

describe("basic auth and headers", () => {
  const app = createApp({
    store: new SnapshotStore(),
    registry: new SelfMetrics({ processMetrics: false }).registry,
    telemetryPath: "/metrics",
    users: new Map([["prom", HASH]]),
    headers: { "X-Frame-Options": "deny" },
  });
  const auth = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  it("refuses scrapes without the right credentials", async () => {
    await request(app).get("/metrics").expect(401).expect("WWW-Authenticate", /Basic/);
    await request(app).get("/metrics").set("Authorization", auth("prom", "wrong")).expect(401);
    await request(app).get("/metrics").set("Authorization", auth("other", "s3cret")).expect(401);
    await request(app).get("/api/v1/releases").expect(401);
  });

  it("serves with the right credentials, and twice without re-hashing", async () => {
    await request(app)
      .get("/metrics")
      .set("Authorization", auth("prom", "s3cret"))
      .expect(200)
      .expect("X-Frame-Options", "deny");
    await request(app).get("/metrics").set("Authorization", auth("prom", "s3cret")).expect(200);
  });

  it("leaves health endpoints open for kubelet probes", async () => {
    await request(app).get("/healthz").expect(200);
    await request(app).get("/readyz").expect(503);
  });
});
