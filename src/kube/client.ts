/**
 * The exporter's only door to the cluster. Built on @kubernetes/client-node's KubeConfig
 * for authentication (kubeconfig, in-cluster, exec plugins), with a small HTTPS client of
 * its own so every request is counted by verb and resource, lists can be metadata-only,
 * and responses are never kept longer than the caller needs.
 */
import http from "node:http";
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

export type Verb = "get" | "list";

export interface RequestObserver {
  observe(request: { verb: Verb; resource: string; ok: boolean; bytes: number; seconds: number }): void;
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
}

export interface ConnectionOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly requestTimeoutMs?: number;
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

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

const METADATA_LIST_ACCEPT =
  "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/** Builds the KubeConfig: an explicit file, else $KUBECONFIG/~/.kube/config, else in-cluster. */
export function loadKubeConfig(options: ConnectionOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      throw new Error(`kubeconfig has no context ${JSON.stringify(options.context)}`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new Error("no Kubernetes cluster configured (kubeconfig or in-cluster)");
  return kc;
}

export class KubeClient {
  private readonly kubeConfig: KubeConfig;
  private readonly server: URL;
  private readonly agent: http.Agent;
  private readonly observer: RequestObserver | undefined;
  private readonly timeoutMs: number;

  constructor(kubeConfig: KubeConfig, observer?: RequestObserver, timeoutMs = 30_000) {
    this.kubeConfig = kubeConfig;
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("no Kubernetes cluster configured");
    this.server = new URL(cluster.server);
    const Agent = this.server.protocol === "https:" ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 16 });
    this.observer = observer;
    this.timeoutMs = timeoutMs;
  }

  static connect(options: ConnectionOptions, observer?: RequestObserver): KubeClient {
    return new KubeClient(loadKubeConfig(options), observer, options.requestTimeoutMs);
  }

  get serverUrl(): string {
    return this.server.toString();
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
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      // The apiserver sends "" (not absent) on the last page.
      const next = page.metadata?.continue;
      continueToken = next === "" ? undefined : next;
    } while (continueToken);
    return { items, resourceVersion };
  }

  close(): void {
    this.agent.destroy();
  }

  private async request<T>(
    verb: Verb,
    resource: string,
    path: string,
    query: Record<string, string>,
    accept: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const options: https.RequestOptions = {
      method: "GET",
      agent: this.agent,
      headers: { Accept: accept ?? "application/json", "User-Agent": "helm-drift-exporter" },
      timeout: this.timeoutMs,
      ...(signal && { signal }),
    };
    await this.kubeConfig.applyToHTTPSOptions(options);
    // applyToHTTPSOptions replaces the agent with its own TLS agent; keep ours for connection reuse,
    // with the TLS material it put on the options.
    options.agent = this.agent;
    const started = performance.now();
    let bytes = 0;
    let ok = false;
    try {
      const { status, body } = await send(url, options);
      bytes = body.length;
      if (status < 200 || status >= 300) throw apiError(status, body, verb, url.pathname);
      ok = true;
      return JSON.parse(body.toString("utf8")) as T;
    } finally {
      this.observer?.observe({ verb, resource, ok, bytes, seconds: (performance.now() - started) / 1000 });
    }
  }
}

function send(url: URL, options: https.RequestOptions): Promise<{ status: number; body: Buffer }> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) });
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`request to ${url.pathname} timed out`)));
    request.on("error", reject);
    request.end();
  });
}

function apiError(status: number, body: Buffer, verb: Verb, path: string): KubeApiError {
  let reason = "";
  let message = "";
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { reason?: string; message?: string };
    reason = parsed.reason ?? "";
    message = parsed.message ?? "";
  } catch {
    message = body.toString("utf8").slice(0, 200);
  }
  return new KubeApiError(status, reason, `${verb} ${path}: ${String(status)} ${reason}: ${message}`.trim());
}
