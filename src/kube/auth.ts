/**
 * Where the API server is and how to authenticate to it, as kubectl would. In a pod: the
 * ServiceAccount token (re-read as the kubelet rotates it). Otherwise the kubeconfig, read by
 * ./kubeconfig.ts with client-go's rules. Its selected entries are applied here only when every
 * key present is one this file implements exactly (the "fast" reader: tokens, token files,
 * client certificates, CAs, TLS server name, skip-verify, impersonation, HTTP(S) proxies);
 * anything else (exec plugins, auth providers, basic auth, SOCKS proxies, keys client-go
 * does not define) goes through @kubernetes/client-node, loaded only then: importing it costs
 * ~85 MB of memory, more than everything the exporter keeps for a thousand releases.
 *
 * client-node misses some of what kubectl honours (it reads YAML 1.1 `yes` as a string, knows
 * only `as` of the impersonation keys, ignores `tokenFile` and proxy environment variables),
 * so on that path client-node applies its part first and this file's own rules then apply
 * everything they implement on top: both readers send the same identity.
 */
import { existsSync, readFileSync } from "node:fs";
import type https from "node:https";
import path from "node:path";
import {
  CLUSTER_KEYS,
  CONTEXT_KEYS,
  HOME_KUBECONFIG,
  kubeconfigSource,
  readKubeconfig,
  text,
  USER_KEYS,
  type Entry,
  type KubeconfigSelection,
} from "./kubeconfig.ts";
import { proxyFromEnvironment } from "./proxy.ts";

export interface ConnectionOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly requestTimeoutMs?: number;
}

/** Who applies the credentials: the in-cluster ServiceAccount, this file's kubeconfig rules, or client-node. */
export type AuthReader = "in-cluster" | "kubeconfig" | "client-node";

export interface Auth {
  readonly server: string;
  readonly reader: AuthReader;
  /** The kubeconfig keys that sent it to client-node (empty on the other readers), for the log. */
  readonly delegated: readonly string[];
  /** The HTTP(S) proxy connections go through, as client-go picks it; undefined: direct. */
  readonly proxy: URL | undefined;
  /** `apply` puts an agent of its own on the options (a SOCKS proxy, through client-node) that must be kept. */
  readonly ownsAgent: boolean;
  /** Puts TLS material and credentials on a request's options. */
  apply(options: https.RequestOptions): Promise<void>;
}

export const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
/** How long a token read from a file is used before the file is read again (client-go: a minute). */
const TOKEN_FILE_TTL_MS = 60_000;

/** Keys this file applies exactly as client-go does; any other key present sends the kubeconfig to client-node. */
const FAST_KEYS = {
  context: new Set(Object.keys(CONTEXT_KEYS)),
  cluster: new Set(Object.keys(CLUSTER_KEYS)),
  user: new Set(
    Object.keys(USER_KEYS).filter((key) => !["exec", "auth-provider", "username", "password"].includes(key)),
  ),
};

export async function loadAuth(
  options: ConnectionOptions,
  // Tests force client-node to compare both readers on the same kubeconfig.
  force?: { readonly reader: "client-node" },
): Promise<Auth> {
  const source = kubeconfigSource(options.kubeconfig);
  if (source === undefined) return inCluster(options);
  const selection = readKubeconfig(source, options.context);
  const server = serverUrl(selection);
  const user = credentialsInUse(selection.user, server.url);
  const proxy = chooseProxy(selection, server.url);
  const delegated = delegatedKeys(selection, user, proxy);
  const own = kubeconfigTransport(selection, user, server);
  if (delegated.length === 0 && force === undefined)
    return { ...own, reader: "kubeconfig", delegated, proxy: proxy.http };
  return clientNodeAuth(selection, user, own, delegated, proxy);
}

interface Server {
  readonly url: URL;
  /** As written (`:443` stays), without a trailing slash, query or fragment; a gateway's path prefix kept. */
  readonly text: string;
}

/** The server; without a scheme, client-go's DefaultServerURL picks https when TLS is configured. */
function serverUrl(selection: KubeconfigSelection): Server {
  const { cluster, clusterName } = selection;
  const server = text(cluster, "server") ?? "";
  const tls = ["certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify"].some(
    (key) => cluster[key] !== undefined && cluster[key] !== null && cluster[key] !== false,
  );
  const withScheme = server.includes("://") ? server : `${tls ? "https" : "http"}://${server}`;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "https:" && url?.protocol !== "http:")
    throw new Error(
      `kubeconfig: server ${JSON.stringify(server)} of cluster ${clusterName} is not an http(s) URL`,
    );
  return { url, text: withScheme.replace(/[?#][^]*$/, "").replace(/\/$/, "") };
}

/** Credentials an exec plugin steps aside for. */
const STATIC_CREDENTIAL_KEYS = [
  "token",
  "tokenFile",
  "username",
  "password",
  "client-certificate",
  "client-certificate-data",
];
const CREDENTIAL_KEYS = [...STATIC_CREDENTIAL_KEYS, "client-key", "client-key-data", "exec", "auth-provider"];

/**
 * The user's keys as client-go uses them: credentials only for a TLS server (none go over
 * plain HTTP), and no exec plugin when the user also has a token, basic auth or a client
 * certificate (client-go's exec authenticator steps aside then).
 */
function credentialsInUse(user: Entry, server: URL): Entry {
  const drop = (keys: readonly string[]) =>
    Object.fromEntries(Object.entries(user).filter(([key]) => !keys.includes(key)));
  if (server.protocol !== "https:") return drop(CREDENTIAL_KEYS);
  const hasOther = STATIC_CREDENTIAL_KEYS.some((key) => text(user, key) !== undefined);
  return hasOther && user.exec !== undefined ? drop(["exec"]) : user;
}

interface ChosenProxy {
  /** An HTTP(S) proxy, which the client's own agents tunnel through (Node's built-in proxy support). */
  readonly http: URL | undefined;
  /** A SOCKS proxy-url, left to client-node's agent. */
  readonly socks: string | undefined;
}

/** `proxy-url` if set, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY, as client-go's transport decides. */
function chooseProxy(selection: KubeconfigSelection, server: URL): ChosenProxy {
  const configured = text(selection.cluster, "proxy-url");
  if (configured === undefined) return { http: proxyFromEnvironment(server), socks: undefined };
  let url: URL;
  try {
    url = new URL(configured);
  } catch {
    throw new Error(
      `kubeconfig: invalid 'proxy-url' ${JSON.stringify(configured)} for cluster ${selection.clusterName}`,
    );
  }
  if (url.protocol === "http:" || url.protocol === "https:") return { http: url, socks: undefined };
  if (url.protocol === "socks5:") return { http: undefined, socks: configured };
  throw new Error(
    `kubeconfig: invalid 'proxy-url' for cluster ${selection.clusterName}: unsupported scheme ${JSON.stringify(url.protocol.slice(0, -1))}, must be http, https, or socks5`,
  );
}

/** The keys present that this file does not apply itself, with where they are. */
function delegatedKeys(selection: KubeconfigSelection, user: Entry, proxy: ChosenProxy): string[] {
  const unknown = (entry: Entry, known: ReadonlySet<string>, where: string) =>
    Object.keys(entry)
      .filter((key) => !known.has(key) && entry[key] !== null)
      .map((key) => `${where}.${key}`);
  const keys = [
    ...unknown(selection.context, FAST_KEYS.context, `contexts[${selection.contextName}].context`),
    ...unknown(selection.cluster, FAST_KEYS.cluster, `clusters[${selection.clusterName}].cluster`),
    ...unknown(user, FAST_KEYS.user, `users[${selection.userName}].user`),
  ];
  if (proxy.socks !== undefined) keys.push(`clusters[${selection.clusterName}].cluster.proxy-url (socks5)`);
  return keys;
}

type OwnTransport = Pick<Auth, "server" | "apply" | "ownsAgent">;

/** Everything of the selected entries this file implements. */
function kubeconfigTransport(selection: KubeconfigSelection, user: Entry, server: Server): OwnTransport {
  const { cluster } = selection;
  const tls: https.RequestOptions = {};
  const ca = material(cluster, "certificate-authority-data", "certificate-authority");
  if (ca) tls.ca = ca;
  if (cluster["insecure-skip-tls-verify"] === true) {
    if (ca)
      throw new Error(
        "kubeconfig: specifying a root certificates file with the insecure flag is not allowed",
      );
    tls.rejectUnauthorized = false;
  }
  const serverName = text(cluster, "tls-server-name");
  if (serverName) tls.servername = serverName;
  const cert = material(user, "client-certificate-data", "client-certificate");
  const key = material(user, "client-key-data", "client-key");
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  const headers = impersonationHeaders(user);
  const authorization = bearer(user);
  return staticAuth(server.text, tls, headers, authorization);
}

function material(entry: Entry, dataKey: string, fileKey: string): Buffer | undefined {
  const data = text(entry, dataKey);
  if (data) return Buffer.from(data, "base64");
  const file = text(entry, fileKey);
  return file ? readFileSync(file) : undefined;
}

/** client-go: a token file, when set, wins over `token`, which stays the fallback when the file cannot be read. */
function bearer(user: Entry): (() => string) | undefined {
  const token = text(user, "token");
  const tokenFile = text(user, "tokenFile");
  if (tokenFile) return fileToken(tokenFile, token);
  return token ? () => `Bearer ${token}` : undefined;
}

/** The Impersonate-* headers of client-go's impersonatingRoundTripper, names as Node sends them. */
export function impersonationHeaders(user: Entry): Record<string, string | string[]> {
  const as = text(user, "as");
  if (!as) return {};
  const headers: Record<string, string | string[]> = { "Impersonate-User": as };
  const uid = text(user, "as-uid");
  if (uid) headers["Impersonate-Uid"] = uid;
  const groups = user["as-groups"];
  if (Array.isArray(groups) && groups.length > 0) headers["Impersonate-Group"] = groups.map(String);
  const extra = user["as-user-extra"];
  if (extra && typeof extra === "object") {
    for (const [name, values] of Object.entries(extra as Record<string, unknown>)) {
      if (Array.isArray(values) && values.length > 0)
        headers[`Impersonate-Extra-${headerKeyEscape(name)}`] = values.map(String);
    }
  }
  return headers;
}

/** client-go's headerKeyEscape: bytes outside an HTTP token, and `%`, are %-encoded. */
function headerKeyEscape(key: string): string {
  let escaped = "";
  for (const byte of Buffer.from(key, "utf8")) {
    const char = String.fromCharCode(byte);
    escaped += /[!#$&'*+\-.0-9A-Z^_`a-z|~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return escaped;
}

function inCluster(options: ConnectionOptions): Auth {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  const tokenPath = path.join(SERVICE_ACCOUNT, "token");
  if (!host || !port || !existsSync(tokenPath)) {
    if (options.context)
      throw new Error(`--context ${JSON.stringify(options.context)} needs a kubeconfig, and none was found`);
    throw noCluster(Boolean(host && port), tokenPath);
  }
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const caPath = path.join(SERVICE_ACCOUNT, "ca.crt");
  const own = staticAuth(
    server,
    existsSync(caPath) ? { ca: readFileSync(caPath) } : {},
    {},
    fileToken(tokenPath, undefined),
  );
  return { ...own, reader: "in-cluster", delegated: [], proxy: proxyFromEnvironment(new URL(server)) };
}

/** No kubeconfig and not in a pod: says every place it looked. */
function noCluster(serviceEnv: boolean, tokenPath: string): Error {
  const places = [
    "--kubeconfig is not set",
    "$KUBECONFIG is not set",
    `${HOME_KUBECONFIG()} does not exist`,
    serviceEnv
      ? `in-cluster: ${tokenPath} does not exist`
      : "in-cluster: $KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT are not set",
  ];
  return new Error(`no Kubernetes cluster configured: ${places.join("; ")}`);
}

/** A token file, read again every minute: the kubelet rotates projected ServiceAccount tokens. */
function fileToken(file: string, fallback: string | undefined): () => string {
  let token = "";
  let readAt = 0;
  const read = () => {
    try {
      token = readFileSync(file, "utf8").trim();
    } catch (error) {
      if (fallback === undefined) throw error;
      token = fallback;
    }
    readAt = Date.now();
  };
  read(); // a token file that cannot be read fails the connection now, as in client-go
  return () => {
    if (Date.now() - readAt > TOKEN_FILE_TTL_MS) {
      try {
        read();
      } catch {
        // keep the last token: the kubelet may be replacing the file
      }
    }
    return `Bearer ${token}`;
  };
}

function staticAuth(
  server: string,
  tls: https.RequestOptions,
  headers: Readonly<Record<string, string | string[]>>,
  authorization: (() => string) | undefined,
): OwnTransport {
  return {
    server,
    ownsAgent: false,
    apply: (options) => {
      Object.assign(options, tls);
      // The client always sets headers as an object (never the raw [name, value] array form).
      const before = (options.headers ?? {}) as Record<string, string | string[]>;
      options.headers = {
        ...before,
        ...headers,
        ...(authorization && { Authorization: authorization() }),
      };
      return Promise.resolve();
    },
  };
}

async function clientNodeAuth(
  selection: KubeconfigSelection,
  user: Entry,
  own: OwnTransport,
  delegated: readonly string[],
  proxy: ChosenProxy,
): Promise<Auth> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  const { cluster, contextName, clusterName, userName } = selection;
  // Built from this file's reading, so client-node sees what kubectl sees (YAML 1.1, merged files, paths).
  kc.loadFromOptions({
    clusters: [
      {
        name: clusterName,
        server: own.server,
        caData: text(cluster, "certificate-authority-data"),
        caFile: text(cluster, "certificate-authority"),
        // client-node refuses a plain http server unless told to skip verification, of a TLS there is not.
        skipTLSVerify: cluster["insecure-skip-tls-verify"] === true || own.server.startsWith("http:"),
        tlsServerName: text(cluster, "tls-server-name"),
        proxyUrl: proxy.socks,
      },
    ],
    users: [
      {
        name: userName,
        certData: text(user, "client-certificate-data"),
        certFile: text(user, "client-certificate"),
        keyData: text(user, "client-key-data"),
        keyFile: text(user, "client-key"),
        token: text(user, "token"),
        username: text(user, "username"),
        password: text(user, "password"),
        authProvider: user["auth-provider"],
        exec: user.exec,
        impersonateUser: text(user, "as"),
      },
    ],
    contexts: [{ name: contextName, cluster: clusterName, user: userName }],
    currentContext: contextName,
  });
  return {
    server: own.server,
    reader: "client-node",
    delegated,
    proxy: proxy.http,
    ownsAgent: proxy.socks !== undefined,
    apply: async (options) => {
      await kc.applyToHTTPSOptions(options);
      // Then this file's rules for everything they implement: the same values where client-node
      // gets them right, and what it drops (impersonation groups/uid/extra, token files) added.
      const agent = options.agent;
      await own.apply(options);
      options.agent = agent;
      // Set above only to get client-node past its check for http servers: there is no TLS.
      if (own.server.startsWith("http:") && cluster["insecure-skip-tls-verify"] !== true)
        delete options.rejectUnauthorized;
    },
  };
}
