/**
 * Runs etcd and kube-apiserver for tests, the demo and the benchmark, and is the one
 * place that cleans them up. It is started detached (own process group) and stops,
 * killing both and removing its directory, when:
 *  - it receives SIGTERM/SIGINT/SIGHUP (`npm run cluster:down`, test teardown),
 *  - the process that started it dies (`--parent-pid`: a test run killed or interrupted),
 *  - etcd or kube-apiserver exits on its own (not through the fault channel).
 * With `--faults` it serves the fault channel (fault-channel.ts), through which a test stops,
 * restarts or pauses a component on purpose.
 * Progress and errors go to supervisor.log; cluster.json appears once the API is ready,
 * startup-error.txt if it never gets there.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { parseArgs } from "node:util";
import { readVersions, resolveBinaries } from "./binaries.ts";
import { CLUSTER_INFO_FILE, clusterEnv, type ClusterInfo, type Identity } from "./cluster-info.ts";
import { Component, type ComponentName } from "./component.ts";
import { serveFaultChannel, type FaultChannel } from "./fault-channel.ts";
import { kubeconfigYaml } from "./kubeconfig.ts";
import { createPki, type Pki } from "./pki.ts";
import { freePort } from "./ports.ts";

const { values: args } = parseArgs({
  options: {
    dir: { type: "string" },
    "parent-pid": { type: "string" },
    faults: { type: "boolean", default: false },
  },
});
if (!args.dir) throw new Error("supervisor: --dir is required");
const dir = path.resolve(args.dir);
const parentPid = args["parent-pid"] ? Number(args["parent-pid"]) : undefined;

/** Bounds a hang at startup, never a slow machine: a busy 2-core runner can take minutes. */
const READY_TIMEOUT_MS = 5 * 60_000;

const components = new Map<ComponentName, Component>();
let faultChannel: FaultChannel | undefined;
let stopping = false;

function log(message: string): void {
  appendFileSync(path.join(dir, "supervisor.log"), `${new Date().toISOString()} ${message}\n`);
}

function start(name: ComponentName, binary: string, argv: string[], isReady: () => Promise<boolean>) {
  const logFile = path.join(dir, `${name}.log`);
  const component = new Component({
    name,
    binary,
    argv,
    logFile,
    isReady,
    log,
    onCrash: (crashed, code, signal) => {
      if (stopping) return;
      log(`${crashed} exited unexpectedly (code ${String(code)}, signal ${String(signal)})`);
      void shutdown(1, `${crashed} exited unexpectedly; last log lines:\n${tail(logFile)}`);
    },
  });
  components.set(name, component);
  component.start();
  return component;
}

async function waitReady(component: Component): Promise<void> {
  await waitFor(component.name, async () => {
    if (component.state === "stopped") throw new Error(`${component.name} exited before it was ready`);
    return component.isReady();
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function httpStatus(url: string, options: https.RequestOptions): Promise<number> {
  return new Promise((resolve) => {
    const request = https.get(url, { ...options, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("error", () => {
      resolve(0);
    });
    request.on("timeout", () => {
      request.destroy();
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (stopping) throw new Error(`stopped while waiting for ${what}`);
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${String(READY_TIMEOUT_MS / 1000)}s waiting for ${what}`);
}

async function startEtcd(binary: string): Promise<string> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const client = `http://127.0.0.1:${String(clientPort)}`;
  const peer = `http://127.0.0.1:${String(peerPort)}`;
  const etcd = start(
    "etcd",
    binary,
    [
      "--name=default",
      `--data-dir=${path.join(dir, "etcd-data")}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    async () => {
      try {
        return (await fetch(`${client}/health`)).ok;
      } catch {
        return false;
      }
    },
  );
  await waitReady(etcd);
  return client;
}

async function startApiserver(binary: string, etcd: string, pki: Pki, tokenFile: string, adminToken: string) {
  const port = await freePort();
  const server = `https://127.0.0.1:${String(port)}`;
  const ca = readFileSync(pki.caCert);
  const ready = async () =>
    (await httpStatus(`${server}/readyz`, { ca, headers: { Authorization: `Bearer ${adminToken}` } })) ===
    200;
  const apiserver = start(
    "kube-apiserver",
    binary,
    [
      `--etcd-servers=${etcd}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${String(port)}`,
      `--cert-dir=${path.join(dir, "apiserver-certs")}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      "--authorization-mode=RBAC",
      `--token-auth-file=${tokenFile}`,
      // Room for the bench's thousands of releases, each with Services and node ports.
      "--service-cluster-ip-range=10.0.0.0/16",
      "--service-node-port-range=20000-32767",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      // No controller manager creates default ServiceAccounts, so the admission plugin that requires them is off.
      "--disable-admission-plugins=ServiceAccount",
      "--allow-privileged=true",
      // The endpoint reconciler refuses a loopback advertise address; nothing here needs the
      // kubernetes Service's endpoints.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
      "--v=1",
    ],
    ready,
  );
  await waitReady(apiserver);
  return server;
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

async function main(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  log(`supervisor pid ${String(process.pid)}, parent ${String(parentPid)}`);
  const versions = readVersions();
  const binaries = resolveBinaries(versions);
  const pki = createPki(dir);

  const token = (): string => randomBytes(24).toString("hex");
  const admin: Identity = { user: "hde-admin", token: token(), context: "admin" };
  const unprivileged: Identity = { user: "hde-unprivileged", token: token(), context: "unprivileged" };
  const tokenFile = path.join(dir, "tokens.csv");
  writeFileSync(
    tokenFile,
    `${admin.token},${admin.user},uid-admin,"system:masters"\n${unprivileged.token},${unprivileged.user},uid-unprivileged\n`,
    { mode: 0o600 },
  );

  const etcd = await startEtcd(binaries.etcd);
  const server = await startApiserver(binaries.kubeApiserver, etcd, pki, tokenFile, admin.token);

  const binDir = path.join(dir, "bin");
  mkdirSync(binDir, { recursive: true });
  symlinkSync(binaries.kubectl, path.join(binDir, "kubectl"));
  symlinkSync(binaries.helm3, path.join(binDir, "helm"));
  symlinkSync(binaries.helm4, path.join(binDir, "helm4"));
  symlinkSync(binaries.promtool, path.join(binDir, "promtool"));

  if (args.faults) faultChannel = await serveFaultChannel({ components, waitReady, log });

  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, kubeconfigYaml(server, pki.caCert, [admin, unprivileged]), { mode: 0o600 });

  const info: ClusterInfo = {
    dir,
    server,
    kubeconfig,
    envFile: path.join(dir, "env"),
    binDir,
    caFile: pki.caCert,
    kubernetesVersion: versions.kubernetes,
    supervisorPid: process.pid,
    admin,
    unprivileged,
    ...(faultChannel && { faults: { url: faultChannel.url, token: faultChannel.token } }),
  };
  const env = clusterEnv(info);
  writeFileSync(
    info.envFile,
    Object.entries(env)
      .map(([key, value]) =>
        key === "PATH" ? `export PATH=${shellQuote(binDir)}:"$PATH"` : `export ${key}=${shellQuote(value)}`,
      )
      .join("\n") + "\n",
  );
  writeFileSync(path.join(dir, CLUSTER_INFO_FILE), JSON.stringify(info, null, 2));
  log(`ready: ${server}`);
}

async function shutdown(code: number, reason?: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (reason) {
    log(`stopping: ${reason}`);
    try {
      writeFileSync(path.join(dir, "startup-error.txt"), reason);
    } catch {
      // the directory may already be gone
    }
  }
  faultChannel?.close();
  // The apiserver first, so it does not spend its shutdown retrying a vanished etcd.
  // Shutting down, nobody waits for a graceful drain: SIGKILL after 5 s.
  for (const component of [...components.values()].reverse()) await component.stop("SIGTERM", 5000);
  // Leave the error and logs for the starter to read when startup failed; it removes them.
  if (code === 0) rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  process.on(signal, () => void shutdown(0));
}

if (parentPid !== undefined) {
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      void shutdown(0);
    }
  }, 500);
}

main().catch((error: unknown) => {
  void shutdown(1, error instanceof Error ? error.message : String(error));
});
