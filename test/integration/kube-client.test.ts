/**
 * The exporter's door to the API server against the real thing. kubectl is the oracle for
 * kubeconfigs: each one is used by the pinned kubectl and by the exporter's client against
 * the same local TLS endpoint, which records who came (Authorization, Impersonate-*, the
 * client certificate, the TLS server name, the proxy tunnel); both must match. And a quiet
 * watched collection on the real apiserver must stay trusted past the dead-watch bound
 * (DEFAULT_STALE_AFTER_MS): a live watch is always heard from in time.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { KubeClient } from "../../src/kube/client.ts";
import type { KubeObject } from "../../src/kube/client.ts";
import { Collections, DEFAULT_STALE_AFTER_MS } from "../../src/read/collections.ts";
import { createPki } from "../../controlplane/pki.ts";
import { clusterInfo, createNamespace, run } from "../support/cluster.ts";

/** What the endpoint saw of one request: the identity and the TLS session it came with. */
interface Seen {
  readonly authorization: string | undefined;
  readonly impersonation: Readonly<Record<string, string | string[] | undefined>>;
  readonly clientCert: string | undefined;
  readonly servername: string | false | undefined;
}

interface Endpoint {
  readonly port: number;
  readonly seen: Seen[];
  readonly tunnels: string[];
  readonly proxyPort: number;
  close(): void;
}

const PATH = "/api/v1/namespaces/parity";
const keepName = (object: KubeObject) => object.metadata.name;

/** A TLS endpoint that asks for (and never verifies) a client certificate, and a CONNECT proxy to it. */
async function endpoint(key: Buffer, cert: Buffer): Promise<Endpoint> {
  const seen: Seen[] = [];
  const server = https.createServer(
    { key, cert, requestCert: true, rejectUnauthorized: false },
    (request, response) => {
      if (request.url?.startsWith(PATH)) {
        const socket = request.socket as TLSSocket;
        const peer = socket.getPeerCertificate();
        seen.push({
          authorization: request.headers.authorization,
          impersonation: Object.fromEntries(
            Object.entries(request.headers)
              .filter(([name]) => name.startsWith("impersonate-"))
              .map(([name, value]) => [name, Array.isArray(value) ? value : value?.split(/,\s*/)]),
          ),
          clientCert: "fingerprint256" in peer ? peer.fingerprint256 : undefined,
          servername: socket.servername ?? undefined,
        });
      }
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ kind: "Namespace", apiVersion: "v1", metadata: { name: "parity" } }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const tunnels: string[] = [];
  // Whatever host a client asks for, the tunnel leads to the endpoint.
  const proxy = http.createServer();
  proxy.on("connect", (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(request.url ?? "");
    const upstream = net.connect(port, "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    port,
    seen,
    tunnels,
    proxyPort: (proxy.address() as net.AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
      proxy.closeAllConnections();
      proxy.close();
    },
  };
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

interface Material {
  readonly dir: string;
  readonly ca: string;
  readonly serverKey: Buffer;
  readonly serverCert: Buffer;
  readonly clientFingerprint: string;
}

/** The endpoint's CA and certificate (for 127.0.0.1/localhost), a client certificate, a token file, an exec plugin. */
function material(): Material {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hde-parity-"));
  const pki = createPki(dir);
  openssl(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=jane"].concat([
      "-keyout",
      path.join(dir, "client.key"),
      "-out",
      path.join(dir, "client.crt"),
    ]),
  );
  const der = Buffer.from(
    readFileSync(path.join(dir, "client.crt"), "utf8").replace(/-----[^-]+-----|\s/g, ""),
    "base64",
  );
  const clientFingerprint = (
    createHash("sha256").update(der).digest("hex").toUpperCase().match(/../g) ?? []
  ).join(":");
  writeFileSync(path.join(dir, "token"), "token-from-file\n");
  const credential = JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: { token: "token-from-exec" },
  });
  writeFileSync(path.join(dir, "plugin.sh"), `#!/bin/sh\nprintf '%s' '${credential}'\n`);
  chmodSync(path.join(dir, "plugin.sh"), 0o755);
  return {
    dir,
    ca: pki.caCert,
    serverKey: readFileSync(pki.serverKey),
    serverCert: readFileSync(pki.serverCert),
    clientFingerprint,
  };
}

interface ParityCase {
  readonly name: string;
  readonly user: Record<string, unknown>;
  /** The cluster entry; `server` is given the endpoint's port for ${port}. */
  readonly cluster: Record<string, unknown>;
  readonly edit?: (yaml: string) => string;
  readonly env?: Record<string, string>;
  /** What the endpoint must have seen (the exporter must see the same as kubectl). */
  readonly expect: Partial<Seen> & { readonly tunnelled?: boolean };
}

const impersonation = {
  as: "jane",
  "as-uid": "uid-1",
  "as-groups": ["devs", "ops"],
  "as-user-extra": { scopes: ["view", "edit"] },
};
const impersonated = {
  "impersonate-user": ["jane"],
  "impersonate-uid": ["uid-1"],
  "impersonate-group": ["devs", "ops"],
  "impersonate-extra-scopes": ["view", "edit"],
};
const exec = {
  apiVersion: "client.authentication.k8s.io/v1",
  command: "./plugin.sh",
  interactiveMode: "Never",
};

function cases(proxyPort: number): ParityCase[] {
  const local = { server: "https://127.0.0.1:${port}", "certificate-authority": "ca.crt" };
  // A name no resolver knows: only a proxy tunnel reaches the endpoint; its certificate names localhost.
  const remote = {
    server: "https://api.hde.invalid:${port}",
    "certificate-authority": "ca.crt",
    "tls-server-name": "localhost",
  };
  return [
    {
      name: "a token impersonating a user with uid, groups and extra",
      user: { token: "abc", ...impersonation },
      cluster: local,
      expect: { authorization: "Bearer abc", impersonation: impersonated },
    },
    {
      name: "a token file beside a token",
      user: { token: "static", tokenFile: "token" },
      cluster: local,
      expect: { authorization: "Bearer token-from-file" },
    },
    {
      name: "a client certificate, with tls-server-name",
      user: { "client-certificate": "client.crt", "client-key": "client.key" },
      cluster: { ...local, "tls-server-name": "localhost" },
      expect: { authorization: undefined, servername: "localhost" },
    },
    {
      name: "insecure-skip-tls-verify: yes (YAML 1.1)",
      user: { token: "abc" },
      cluster: { server: "https://127.0.0.1:${port}", "insecure-skip-tls-verify": "YES_PLAIN" },
      edit: (yaml) => yaml.replace("YES_PLAIN", "yes"),
      expect: { authorization: "Bearer abc" },
    },
    {
      name: "an exec plugin impersonating a user",
      user: { exec, ...impersonation },
      cluster: local,
      expect: { authorization: "Bearer token-from-exec", impersonation: impersonated },
    },
    {
      name: "HTTPS_PROXY from the environment",
      user: { token: "abc" },
      cluster: remote,
      env: { HTTPS_PROXY: `http://127.0.0.1:${String(proxyPort)}` },
      expect: { authorization: "Bearer abc", tunnelled: true },
    },
    {
      name: "proxy-url in the kubeconfig",
      user: { token: "abc" },
      cluster: { ...remote, "proxy-url": `http://127.0.0.1:${String(proxyPort)}` },
      expect: { authorization: "Bearer abc", tunnelled: true },
    },
  ];
}

function writeKubeconfig(dir: string, name: string, testCase: ParityCase, port: number): string {
  const cluster = Object.fromEntries(
    Object.entries(testCase.cluster).map(([key, value]) => [
      key,
      typeof value === "string" ? value.replace("${port}", String(port)) : value,
    ]),
  );
  const document = {
    apiVersion: "v1",
    kind: "Config",
    "current-context": "parity",
    clusters: [{ name: "endpoint", cluster }],
    users: [{ name: "user", user: testCase.user }],
    contexts: [{ name: "parity", context: { cluster: "endpoint", user: "user" } }],
  };
  const file = path.join(dir, `${name}.kubeconfig`);
  writeFileSync(file, (testCase.edit ?? ((yaml: string) => yaml))(stringify(document)));
  return file;
}

/** Runs `body` with these environment variables set, restoring them after. */
async function withEnv<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  }
}

describe("kubeconfig parity with kubectl", () => {
  it("kubectl and the exporter present the same identity, TLS and proxy, kubeconfig by kubeconfig", async (t) => {
    const files = material();
    const target = await endpoint(files.serverKey, files.serverCert);
    try {
      for (const [index, testCase] of cases(target.proxyPort).entries()) {
        const file = writeKubeconfig(files.dir, `case-${String(index)}`, testCase, target.port);
        const env = { NO_PROXY: "", no_proxy: "", HTTPS_PROXY: "", https_proxy: "", ...testCase.env };
        target.seen.length = 0;
        target.tunnels.length = 0;
        await run("kubectl", ["--kubeconfig", file, "get", "--raw", PATH], env);
        const byKubectl = { seen: [...target.seen], tunnels: [...target.tunnels] };
        target.seen.length = 0;
        target.tunnels.length = 0;
        const client = await withEnv(env, () => KubeClient.connect({ kubeconfig: file }));
        try {
          await client.get(PATH, "namespaces");
          t.diagnostic(`${testCase.name}: ${client.authReader.reader}`);
        } finally {
          client.close();
        }
        const byExporter = { seen: [...target.seen], tunnels: [...target.tunnels] };
        assert.equal(byKubectl.seen.length, 1, `${testCase.name}: kubectl reached the endpoint once`);
        assert.deepEqual(byExporter, byKubectl, `${testCase.name}: the exporter is seen as kubectl is`);
        const seen = byKubectl.seen[0];
        const { tunnelled, ...expected } = testCase.expect;
        for (const [field, value] of Object.entries(expected))
          assert.deepEqual(seen?.[field as keyof Seen], value, `${testCase.name}: ${field}`);
        assert.equal(byKubectl.tunnels.length > 0, tunnelled ?? false, `${testCase.name}: through the proxy`);
        if (testCase.user["client-certificate"]) assert.equal(seen?.clientCert, files.clientFingerprint);
      }
    } finally {
      target.close();
    }
  });
});

describe("a quiet watch on the real apiserver", () => {
  it("stays trusted past the dead-watch bound: heard from by bookmarks or its own end, never listed again", async (t) => {
    const namespace = await createNamespace("quiet");
    const client = await KubeClient.connect({ kubeconfig: clusterInfo().kubeconfig });
    const collections = new Collections(client, { watch: true });
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    const spec = { purpose: "quiet", path, resource: "configmaps", keep: keepName };
    // Beside it, a raw watch that only records when bookmarks come, for the figures.
    const done = new AbortController();
    const bookmarks: number[] = [];
    const started = performance.now();
    const recorder = client
      .list(path, "configmaps")
      .then(({ resourceVersion }) =>
        client.watch(
          path,
          "configmaps",
          { resourceVersion, timeoutSeconds: 600, idleTimeoutMs: 600_000, signal: done.signal },
          (event) => {
            if (event.type === "BOOKMARK") bookmarks.push(Math.round((performance.now() - started) / 1000));
          },
        ),
      )
      .catch((error: unknown) => {
        if (!done.signal.aborted) throw error;
      });
    try {
      await collections.read(spec);
      let longestSilence = 0;
      const until = performance.now() + DEFAULT_STALE_AFTER_MS + 15_000;
      while (performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const state = collections.states[0];
        assert.equal(
          state?.synced,
          true,
          `unsynced after ${String(Math.round((performance.now() - started) / 1000))} s`,
        );
        longestSilence = Math.max(longestSilence, Date.now() - (state.lastHeardAt ?? 0));
      }
      await collections.read(spec);
      assert.equal(collections.listCount, 1, "never listed again");
      t.diagnostic(
        `longest silence ${String(Math.round(longestSilence / 1000))} s; bookmarks of a 600 s watch at ${bookmarks.join(", ")} s`,
      );
    } finally {
      done.abort();
      await recorder;
      collections.close();
      client.close();
    }
  });
});
