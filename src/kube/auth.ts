/**
 * Where the API server is and how to authenticate to it. The common cases are read here
 * directly: in-cluster (the ServiceAccount token, re-read as the kubelet rotates it) and
 * a kubeconfig with a token, token file or client certificate. Anything else
 * (exec plugins, auth providers, proxies, merged KUBECONFIG lists) goes through
 * @kubernetes/client-node, loaded only then: importing it costs ~85 MB of memory, more
 * than everything the exporter keeps for a thousand releases.
 */
import { existsSync, readFileSync } from "node:fs";
import type https from "node:https";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";

export interface ConnectionOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly requestTimeoutMs?: number;
}

export interface Auth {
  readonly server: string;
  /** Puts TLS material and credentials on a request's options. */
  apply(options: https.RequestOptions): Promise<void>;
}

const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
/** How long a token read from a file is used before the file is read again. */
const TOKEN_FILE_TTL_MS = 60_000;

type Entry = Record<string, unknown>;
const isEntry = (value: unknown): value is Entry =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const text = (entry: Entry | undefined, key: string): string | undefined => {
  const value = entry?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
};

const noContext = (name: string) => new Error(`kubeconfig has no context ${JSON.stringify(name)}`);
const noCluster = () => new Error("no Kubernetes cluster configured (kubeconfig or in-cluster)");

/** The kubeconfig to read: explicit, else $KUBECONFIG, else ~/.kube/config; undefined: in-cluster. */
function kubeconfigPath(options: ConnectionOptions): string | undefined {
  if (options.kubeconfig) return options.kubeconfig;
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv) return fromEnv;
  const home = path.join(os.homedir(), ".kube", "config");
  return existsSync(home) ? home : undefined;
}

export async function loadAuth(options: ConnectionOptions): Promise<Auth> {
  const file = kubeconfigPath(options);
  if (file === undefined) return inCluster(options);
  // A list of files is merged by client-go's rules: client-node implements them.
  if (file.includes(path.delimiter)) return clientNodeAuth(options);
  const config: unknown = parse(readFileSync(file, "utf8"));
  if (!isEntry(config)) throw new Error(`${file} is not a kubeconfig`);
  const named = (list: string, name: string | undefined): Entry | undefined => {
    const items = Array.isArray(config[list]) ? (config[list] as unknown[]) : [];
    const item = items.find((candidate) => isEntry(candidate) && candidate.name === name);
    return isEntry(item) ? item : undefined;
  };
  const contextName = options.context ?? text(config, "current-context");
  const context = named("contexts", contextName)?.context;
  if (options.context && !isEntry(context)) {
    throw noContext(options.context);
  }
  const contextEntry = isEntry(context) ? context : undefined;
  const cluster = named("clusters", text(contextEntry, "cluster"))?.cluster;
  const user = named("users", text(contextEntry, "user"))?.user;
  const clusterEntry = isEntry(cluster) ? cluster : undefined;
  const userEntry = isEntry(user) ? user : {};
  const server = text(clusterEntry, "server");
  if (!server) throw noCluster();
  if (
    userEntry.exec !== undefined ||
    userEntry["auth-provider"] !== undefined ||
    userEntry.username !== undefined ||
    text(clusterEntry, "proxy-url") !== undefined
  ) {
    return clientNodeAuth(options);
  }
  const base = path.dirname(file);
  const material = (dataKey: string, fileKey: string, entry: Entry | undefined): Buffer | undefined => {
    const data = text(entry, dataKey);
    if (data) return Buffer.from(data, "base64");
    const name = text(entry, fileKey);
    return name ? readFileSync(path.resolve(base, name)) : undefined;
  };
  const tls: https.RequestOptions = {};
  const ca = material("certificate-authority-data", "certificate-authority", clusterEntry);
  if (ca) tls.ca = ca;
  const cert = material("client-certificate-data", "client-certificate", userEntry);
  const key = material("client-key-data", "client-key", userEntry);
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (clusterEntry?.["insecure-skip-tls-verify"] === true) tls.rejectUnauthorized = false;
  const serverName = text(clusterEntry, "tls-server-name");
  if (serverName) tls.servername = serverName;

  const token = text(userEntry, "token");
  const tokenFile = text(userEntry, "tokenFile");
  const authorization = token
    ? () => `Bearer ${token}`
    : tokenFile
      ? fileToken(path.resolve(base, tokenFile))
      : undefined;
  return staticAuth(server, tls, authorization);
}

function inCluster(options: ConnectionOptions): Auth {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(path.join(SERVICE_ACCOUNT, "token"))) {
    if (options.context) throw noContext(options.context);
    throw noCluster();
  }
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return staticAuth(
    server,
    { ca: readFileSync(path.join(SERVICE_ACCOUNT, "ca.crt")) },
    fileToken(path.join(SERVICE_ACCOUNT, "token")),
  );
}

/** A token file, read again every minute: the kubelet rotates projected ServiceAccount tokens. */
function fileToken(file: string): () => string {
  let token = "";
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > TOKEN_FILE_TTL_MS) {
      token = readFileSync(file, "utf8").trim();
      readAt = Date.now();
    }
    return `Bearer ${token}`;
  };
}

function staticAuth(
  server: string,
  tls: https.RequestOptions,
  authorization: (() => string) | undefined,
): Auth {
  return {
    server,
    apply: (options) => {
      Object.assign(options, tls);
      if (authorization) {
        // The client always sets headers as an object (never the raw [name, value] array form).
        const headers = (options.headers ?? {}) as Record<string, string>;
        options.headers = { ...headers, Authorization: authorization() };
      }
      return Promise.resolve();
    },
  };
}

async function clientNodeAuth(options: ConnectionOptions): Promise<Auth> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      throw noContext(options.context);
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw noCluster();
  return { server: cluster.server, apply: (requestOptions) => kc.applyToHTTPSOptions(requestOptions) };
}
