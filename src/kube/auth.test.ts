import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import type https from "node:https";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { loadAuth } from "./auth.ts";

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hde-auth-"));
  writeFileSync(path.join(dir, "ca.crt"), "CA FROM FILE");
  writeFileSync(path.join(dir, "token"), "token-from-file\n");
  const file = path.join(dir, "config");
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "main",
      clusters: [
        {
          name: "c",
          cluster: { server: "https://127.0.0.1:6443", "certificate-authority": "ca.crt", ...cluster },
        },
        { name: "other", cluster: { server: "https://10.0.0.1:443" } },
      ],
      users: [{ name: "u", user }],
      contexts: [
        { name: "main", context: { cluster: "c", user: "u" } },
        { name: "second", context: { cluster: "other", user: "u" } },
      ],
    }),
  );
  return file;
}

async function applied(file: string, context?: string) {
  const auth = await loadAuth({ kubeconfig: file, ...(context && { context }) });
  const options: https.RequestOptions = { headers: { Accept: "application/json" } };
  await auth.apply(options);
  return { server: auth.server, options };
}

describe("authentication from a kubeconfig", () => {
  it("uses a token and a CA file relative to the kubeconfig", async () => {
    const { server, options } = await applied(kubeconfig({ token: "abc" }));
    assert.equal(server, "https://127.0.0.1:6443");
    assert.deepEqual(options.ca, Buffer.from("CA FROM FILE"));
    assert.deepEqual(options.headers, { Accept: "application/json", Authorization: "Bearer abc" });
  });

  it("reads a token file and client certificate data", async () => {
    const { options } = await applied(
      kubeconfig({
        tokenFile: "token",
        "client-certificate-data": Buffer.from("CERT").toString("base64"),
        "client-key-data": Buffer.from("KEY").toString("base64"),
      }),
    );
    assert.deepEqual(options.cert, Buffer.from("CERT"));
    assert.deepEqual(options.key, Buffer.from("KEY"));
    assert.equal((options.headers as Record<string, string>).Authorization, "Bearer token-from-file");
  });

  it("honours --context and insecure-skip-tls-verify, and names a missing context", async () => {
    const file = kubeconfig({ token: "abc" }, { "insecure-skip-tls-verify": true });
    assert.equal((await applied(file, "second")).server, "https://10.0.0.1:443");
    assert.equal((await applied(file)).options.rejectUnauthorized, false);
    await assert.rejects(loadAuth({ kubeconfig: file, context: "nope" }), /kubeconfig has no context "nope"/);
  });

  it("hands exec plugins to @kubernetes/client-node", async () => {
    const file = kubeconfig({
      exec: { apiVersion: "client.authentication.k8s.io/v1", command: "true", interactiveMode: "Never" },
    });
    const auth = await loadAuth({ kubeconfig: file });
    assert.equal(auth.server, "https://127.0.0.1:6443");
  });
});
