/**
 * The exporter's only door to the cluster: authentication from ./auth.ts (kubeconfig,
 * in-cluster, and through @kubernetes/client-node exec plugins), with a small HTTPS client of
 * its own so every request is counted by verb and resource, lists can be metadata-only,
 * and responses are never kept longer than the caller needs.
 */
import http from "node:http";
import https from "node:https";
import { StringDecoder } from "node:string_decoder";
import { loadAuth, type Auth, type ConnectionOptions } from "./auth.ts";

export type { ConnectionOptions } from "./auth.ts";

export type Verb = "get" | "list" | "watch";

export interface RequestObserver {
  /** One request, when it ends (a watch ends when the server closes it or it is stopped). */
  observe(request: { verb: Verb; resource: string; ok: boolean; bytes: number; seconds: number }): void;
  /** Bytes of a watch stream as they arrive, so traffic is seen while the watch is still open. */
  received?(verb: Verb, resource: string, bytes: number): void;
  /** A watch opened (+1) or ended (-1). */
  watching?(resource: string, delta: 1 | -1): void;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
  get isForbidden(): boolean {
    return this.status === 403;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  /** The resourceVersion a watch asked for is older than the apiserver keeps: list again. */
  get isGone(): boolean {
    return this.status === 410;
  }
}

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Return PartialObjectMetadata items: labels and names without the objects' data. */
  readonly metadataOnly?: boolean;
  readonly pageSize?: number;
  /** "0": serve from the apiserver's watch cache instead of etcd. */
  readonly resourceVersion?: string;
  readonly signal?: AbortSignal;
}

export interface WatchOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly metadataOnly?: boolean;
  /** Where the stream starts: the resourceVersion of the list it continues. */
  readonly resourceVersion: string;
  /** The server ends the watch after this long; the caller watches again from the last version seen. */
  readonly timeoutSeconds: number;
  readonly signal?: AbortSignal;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: KubeObject;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly finalizers?: readonly string[];
}

/** uid/resourceVersion: changes whenever the object does, and differs for a recreated one. */
export function objectVersion(metadata: { readonly uid: string; readonly resourceVersion: string }): string {
  return `${metadata.uid}/${metadata.resourceVersion}`;
}

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

const METADATA_LIST_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
const METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

export class KubeClient {
  private readonly auth: Auth;
  private readonly server: URL;
  /** The server's path, without a trailing slash: a gateway's prefix (https://host/k8s/clusters/c-1). */
  private readonly serverPath: string;
  private readonly agent: http.Agent;
  /** Watches hold their connection open: their own agent, so they never starve requests of sockets. */
  private readonly watchAgent: http.Agent;
  private readonly observer: RequestObserver | undefined;
  private readonly timeoutMs: number;

  constructor(auth: Auth, observer?: RequestObserver, timeoutMs = 30_000) {
    this.auth = auth;
    this.server = new URL(auth.server);
    this.serverPath = this.server.pathname.replace(/\/$/, "");
    this.agent = newAgent(this.server, auth.proxy, { keepAlive: true, maxSockets: 16 });
    this.watchAgent = newAgent(this.server, auth.proxy, { keepAlive: false });
    this.observer = observer;
    this.timeoutMs = timeoutMs;
  }

  static async connect(options: ConnectionOptions, observer?: RequestObserver): Promise<KubeClient> {
    return new KubeClient(await loadAuth(options), observer, options.requestTimeoutMs);
  }

  get serverUrl(): string {
    return this.server.toString();
  }

  /** Who applies the credentials, and why client-node if it does (for the log). */
  get authReader(): Pick<Auth, "reader" | "delegated" | "proxy"> {
    return { reader: this.auth.reader, delegated: this.auth.delegated, proxy: this.auth.proxy };
  }

  /** GET one object or discovery document. */
  async get<T>(path: string, resource: string, signal?: AbortSignal, accept?: string): Promise<T> {
    return this.request<T>("get", resource, path, {}, accept, signal);
  }

  /** LIST a collection, following `continue` tokens; returns all items. */
  // The caller names the item shape it asked for; API JSON is not validated here.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  async list<T extends KubeObject = KubeObject>(path: string, resource: string, options: ListOptions = {}) {
    const items: T[] = [];
    const resourceVersion = await this.listPages<T>(path, resource, options, (page) => {
      items.push(...page);
    });
    return { items, resourceVersion };
  }

  /**
   * LIST a collection page by page, handing each page to `onPage` as it arrives, so a
   * caller that keeps a little of each object never holds the whole collection parsed.
   * Returns the list's resourceVersion.
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  async listPages<T extends KubeObject = KubeObject>(
    path: string,
    resource: string,
    options: ListOptions,
    onPage: (items: readonly T[]) => void,
  ): Promise<string> {
    let resourceVersion = "";
    let continueToken: string | undefined;
    do {
      const query: Record<string, string> = { limit: String(options.pageSize ?? 500) };
      if (options.labelSelector) query.labelSelector = options.labelSelector;
      if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
      if (continueToken) query.continue = continueToken;
      else if (options.resourceVersion !== undefined) query.resourceVersion = options.resourceVersion;
      const page = await this.request<{
        items?: T[] | null;
        metadata?: { continue?: string; resourceVersion?: string };
      }>(
        "list",
        resource,
        path,
        query,
        options.metadataOnly ? METADATA_LIST_ACCEPT : undefined,
        options.signal,
      );
      onPage(page.items ?? []);
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      // The apiserver sends "" (not absent) on the last page.
      const next = page.metadata?.continue;
      continueToken = next === "" ? undefined : next;
    } while (continueToken);
    return resourceVersion;
  }

  /**
   * WATCH a collection from a resourceVersion, calling `onEvent` for each event, until the
   * server ends the stream (its timeout) or `signal` aborts. An ERROR event (such as 410
   * Gone, the version being too old) is thrown as a KubeApiError.
   */
  async watch(
    path: string,
    resource: string,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
  ): Promise<void> {
    const query: Record<string, string> = {
      watch: "true",
      allowWatchBookmarks: "true",
      resourceVersion: options.resourceVersion,
      timeoutSeconds: String(options.timeoutSeconds),
    };
    if (options.labelSelector) query.labelSelector = options.labelSelector;
    if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
    const url = this.url(path, query);
    const requestOptions = await this.requestOptions(
      options.metadataOnly ? METADATA_WATCH_ACCEPT : "application/json",
      options.signal,
      // The stream is quiet between events: only the server's own timeout (plus slack) ends it.
      (options.timeoutSeconds + 30) * 1000,
      this.watchAgent,
    );
    const started = performance.now();
    let ok = false;
    this.observer?.watching?.(resource, 1);
    try {
      await stream(
        url,
        requestOptions,
        (chunk) => {
          this.observer?.received?.("watch", resource, chunk.length);
        },
        (status, body) => apiError(status, body.toString("utf8"), "watch", url.pathname),
        (line) => {
          const event = JSON.parse(line) as { type: string; object: KubeObject };
          if (event.type === "ERROR") {
            const status = event.object as unknown as { code?: number; reason?: string; message?: string };
            throw new KubeApiError(
              status.code ?? 500,
              status.reason ?? "",
              `watch ${url.pathname}: ${String(status.code ?? "")} ${status.reason ?? ""}: ${status.message ?? ""}`,
            );
          }
          onEvent(event as WatchEvent);
        },
      );
      ok = true;
    } finally {
      this.observer?.watching?.(resource, -1);
      this.observer?.observe({
        verb: "watch",
        resource,
        ok,
        bytes: 0, // already reported as received
        seconds: (performance.now() - started) / 1000,
      });
    }
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  private url(path: string, query: Record<string, string>): URL {
    const url = new URL(this.serverPath + path, this.server);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    return url;
  }

  private async requestOptions(
    accept: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    agent: http.Agent = this.agent,
  ): Promise<https.RequestOptions> {
    const options: https.RequestOptions = {
      method: "GET",
      agent,
      headers: { Accept: accept, "User-Agent": "helm-drift-exporter" },
      timeout: timeoutMs,
      ...(signal && { signal }),
    };
    await this.auth.apply(options);
    // client-node's applyToHTTPSOptions replaces the agent with its own TLS agent; keep ours for
    // connection reuse (and the proxy), with the TLS material it put on the options. A SOCKS
    // proxy's agent is the exception: only client-node can reach the server through it.
    if (!this.auth.ownsAgent) options.agent = agent;
    return options;
  }

  private async request<T>(
    verb: Verb,
    resource: string,
    path: string,
    query: Record<string, string>,
    accept: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const url = this.url(path, query);
    const options = await this.requestOptions(accept ?? "application/json", signal, this.timeoutMs);
    const started = performance.now();
    let bytes = 0;
    let ok = false;
    try {
      const response = await send(url, options);
      bytes = response.bytes;
      if (response.status < 200 || response.status >= 300)
        throw apiError(response.status, response.text, verb, url.pathname);
      ok = true;
      return JSON.parse(response.text) as T;
    } finally {
      this.observer?.observe({ verb, resource, ok, bytes, seconds: (performance.now() - started) / 1000 });
    }
  }
}

/** The client's agent: through the proxy auth chose (Node's built-in proxy support), else direct. */
function newAgent(server: URL, proxy: URL | undefined, options: http.AgentOptions): http.Agent {
  // An explicit proxyEnv, even empty: the choice is client-go's (./proxy.ts), never Node's own
  // reading of the environment, whose NO_PROXY rules differ.
  const proxyEnv = proxy ? { HTTPS_PROXY: proxy.toString(), HTTP_PROXY: proxy.toString() } : {};
  return server.protocol === "https:"
    ? new https.Agent({ ...options, proxyEnv })
    : new http.Agent({ ...options, proxyEnv });
}

function send(
  url: URL,
  options: https.RequestOptions,
): Promise<{ status: number; text: string; bytes: number }> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, options, (response) => {
      // Decoded as it arrives, into the V8 heap: joining the chunks into one Buffer first put
      // a second copy of every response in native memory, which the allocator keeps once grown.
      const decoder = new StringDecoder("utf8");
      let text = "";
      let bytes = 0;
      response.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        text += decoder.write(chunk);
      });
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, text: text + decoder.end(), bytes });
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`request to ${url.pathname} timed out`)));
    request.on("error", reject);
    request.end();
  });
}

/**
 * Streams a newline-delimited JSON response: each complete line goes to `onLine`. A non-2xx
 * answer is read whole and rejected with `toError`; an error thrown by `onLine` ends the stream.
 */
function stream(
  url: URL,
  options: https.RequestOptions,
  onChunk: (chunk: Buffer) => void,
  toError: (status: number, body: Buffer) => Error,
  onLine: (line: string) => void,
): Promise<void> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, options, (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      // A chunk can end inside a multi-byte character: the decoder holds it for the next one.
      const decoder = new StringDecoder("utf8");
      let pending = "";
      const fail = (error: unknown) => {
        request.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      response.on("data", (chunk: Buffer) => {
        onChunk(chunk);
        if (status < 200 || status >= 300) {
          chunks.push(chunk);
          return;
        }
        pending += decoder.write(chunk);
        let newline = pending.indexOf("\n");
        while (newline >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.trim() !== "") {
            try {
              onLine(line);
            } catch (error) {
              fail(error);
              return;
            }
          }
          newline = pending.indexOf("\n");
        }
      });
      response.on("end", () => {
        if (status < 200 || status >= 300) reject(toError(status, Buffer.concat(chunks)));
        else resolve();
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`watch ${url.pathname} timed out`)));
    request.on("error", reject);
    request.end();
  });
}

function apiError(status: number, body: string, verb: Verb, path: string): KubeApiError {
  let reason = "";
  let message = "";
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason ?? "";
    message = parsed.message ?? "";
  } catch {
    message = body.slice(0, 200);
  }
  return new KubeApiError(status, reason, `${verb} ${path}: ${String(status)} ${reason}: ${message}`.trim());
}
