/**
 * A small writing Kubernetes client for the populate step: one keep-alive HTTPS agent, raw
 * JSON bodies, retries on throttling. The exporter's own client (src/kube) only reads.
 */
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

export interface ApiResponse {
  readonly status: number;
  readonly text: string;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export type PatchType = "strategic" | "merge";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  strategic: "application/strategic-merge-patch+json",
  merge: "application/merge-patch+json",
};

const RETRIABLE = new Set([429, 500, 502, 503, 504]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Api {
  /** Requests sent (retries included), for the throughput the populate step prints. */
  requests = 0;
  readonly #server: URL;
  readonly #agent: https.Agent;
  readonly #headers: Record<string, string>;

  private constructor(server: URL, agent: https.Agent, headers: Record<string, string>) {
    this.#server = server;
    this.#agent = agent;
    this.#headers = headers;
  }

  /** Connects with the kubeconfig's current context (certificates, token or basic auth). */
  static async connect(kubeconfig: string, maxSockets: number): Promise<Api> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`${kubeconfig} has no current cluster`);
    const options: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(options);
    const agent = new https.Agent({
      keepAlive: true,
      maxSockets,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value === "string") headers[name] = value;
    }
    return new Api(new URL(cluster.server), agent, headers);
  }

  close(): void {
    this.#agent.destroy();
  }

  /** One request; retries throttling, server errors and a keep-alive socket the server closed. */
  async request(method: string, path: string, body?: string, contentType?: string): Promise<ApiResponse> {
    for (let attempt = 0; ; attempt++) {
      let response: ApiResponse;
      try {
        response = await this.#send(method, path, body, contentType);
      } catch (error) {
        if (attempt >= 5) throw error;
        await sleep(100 * 2 ** attempt);
        continue;
      }
      if (!RETRIABLE.has(response.status) || attempt >= 8) return response;
      await sleep(Math.min(100 * 2 ** attempt, 3000));
    }
  }

  /** Like request, but throws unless the status is 2xx. */
  async must(method: string, path: string, body?: string, contentType?: string): Promise<ApiResponse> {
    const response = await this.request(method, path, body, contentType);
    if (response.status < 200 || response.status > 299) {
      const hint = response.text.includes("range is full")
        ? " (the control plane's --service-cluster-ip-range or --service-node-port-range is too small: " +
          "each realworld release takes 3 cluster IPs and 3 node ports)"
        : response.status === 409
          ? " (populate expects a control plane without these releases)"
          : "";
      throw new ApiError(
        response.status,
        `${method} ${path}: ${String(response.status)} ${response.text}${hint}`,
      );
    }
    return response;
  }

  async getJson<T>(path: string): Promise<T> {
    return JSON.parse((await this.must("GET", path)).text) as T;
  }

  /** POST with a field manager, as helm's and kubectl's create do. */
  create(path: string, body: string, fieldManager: string): Promise<ApiResponse> {
    return this.must(
      "POST",
      `${path}?fieldManager=${encodeURIComponent(fieldManager)}`,
      body,
      "application/json",
    );
  }

  patch(path: string, type: PatchType, body: string, fieldManager: string): Promise<ApiResponse> {
    return this.request(
      "PATCH",
      `${path}?fieldManager=${encodeURIComponent(fieldManager)}`,
      body,
      PATCH_CONTENT_TYPES[type],
    );
  }

  /** Creates a namespace unless it exists. */
  async ensureNamespace(name: string): Promise<void> {
    const response = await this.request(
      "POST",
      "/api/v1/namespaces",
      JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }),
      "application/json",
    );
    if (response.status !== 201 && response.status !== 409) {
      throw new ApiError(response.status, `creating namespace ${name}: ${response.text}`);
    }
  }

  #send(method: string, path: string, body?: string, contentType?: string): Promise<ApiResponse> {
    this.requests++;
    const url = new URL(path, this.#server);
    const headers: Record<string, string> = { ...this.#headers, Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const request = https.request(url, { method, agent: this.#agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
        response.on("error", reject);
      });
      request.on("error", reject);
      request.end(body);
    });
  }
}

export interface Resource {
  /** Plural resource name, as in the URL. */
  readonly plural: string;
  readonly namespaced: boolean;
  /** /api/v1 or /apis/<group>/<version>. */
  readonly base: string;
}

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

/** Resolves apiVersion + kind to URLs through API discovery, once per group version. */
export class Resources {
  readonly #api: Api;
  readonly #lists = new Map<string, Promise<ApiResourceList>>();

  constructor(api: Api) {
    this.#api = api;
  }

  async resolve(apiVersion: string, kind: string): Promise<Resource> {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let list = this.#lists.get(base);
    if (!list) {
      list = this.#api.getJson<ApiResourceList>(base);
      this.#lists.set(base, list);
    }
    const found = (await list).resources.find((r) => r.kind === kind && !r.name.includes("/"));
    if (!found) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return { plural: found.name, namespaced: found.namespaced, base };
  }
}

/** The collection URL of a resource (in a namespace when it is namespaced). */
export function collectionPath(resource: Resource, namespace: string | undefined): string {
  return resource.namespaced && namespace
    ? `${resource.base}/namespaces/${namespace}/${resource.plural}`
    : `${resource.base}/${resource.plural}`;
}

export function objectPath(resource: Resource, namespace: string | undefined, name: string): string {
  return `${collectionPath(resource, namespace)}/${name}`;
}
