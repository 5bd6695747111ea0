/**
 * The exporter's only door to the cluster: authentication from ./auth.ts (kubeconfig,
 * in-cluster, and through @kubernetes/client-node exec plugins), with a small HTTPS client of
 * its own so every request is counted by verb and resource, lists can be metadata-only,
 * and responses are never kept longer than the caller needs. Reads that meet throttling
 * (429), a server error or a dropped connection are retried as ./retry.ts says; every
 * attempt is observed, so metrics count the requests the server really saw.
 */
import http from "node:http";
import https from "node:https";
import { StringDecoder } from "node:string_decoder";
import { loadAuth, type Auth, type ConnectionOptions } from "./auth.ts";
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  retryDelayMs,
  wait,
  type AttemptOutcome,
  type RetryPolicy,
} from "./retry.ts";
import { errorMessage } from "../util/errors.ts";

export type { ConnectionOptions } from "./auth.ts";

export type Verb = "get" | "list" | "watch";

export interface ObservedRequest {
  readonly verb: Verb;
  readonly resource: string;
  /** Why it failed (see FailureCode); undefined when it succeeded. */
  readonly failure: FailureCode | undefined;
  /** The HTTP status, 0 when there was none (connection refused or reset, timeout, abort). */
  readonly code: number;
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * Why a request failed, as the `code` label of the request error counter: the HTTP status as
 * text ("403", "429", "500"; a watch's ERROR event gives its Status code, such as "410"), or,
 * with no status to give, "timeout" (nothing heard in time), "canceled" (stopped by the
 * exporter: a scan's timeout, shutdown, a watch no longer needed) or "network" (the connection
 * was refused, reset or cut, or the answer could not be read). A fixed set plus the statuses
 * 100 to 599: the label's cardinality stays bounded whatever a server or proxy answers.
 */
export type FailureCode = `${number}` | "other" | "timeout" | "canceled" | "network";

/** The FailureCode of a status (anything but 2xx), "other" outside what HTTP defines. */
export function statusFailure(status: number): FailureCode {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? `${status}` : "other";
}

/** The FailureCode of an attempt that threw; `status` is the one heard before, 0 if none. */
export function failureCode(error: unknown, status: number, signal?: AbortSignal): FailureCode {
  if (error instanceof KubeApiError) return statusFailure(error.status);
  if (signal?.aborted) return "canceled";
  if (error instanceof KubeTimeoutError) return "timeout";
  if (status !== 0 && (status < 200 || status >= 300)) return statusFailure(status);
  return "network";
}

export interface RequestObserver {
  /**
   * One request, when it ends (a watch ends when the server closes it or it is stopped).
   * Each attempt of a retried read is a request of its own.
   */
  observe(request: ObservedRequest): void;
  /** Bytes of a watch stream as they arrive, so traffic is seen while the watch is still open. */
  received?(verb: Verb, resource: string, bytes: number): void;
  /** A watch opened (+1) or ended (-1). */
  watching?(resource: string, delta: 1 | -1): void;
}

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  /** The answer's Retry-After (seconds), from its header or its Status details. */
  readonly retryAfter: string | undefined;
  constructor(status: number, reason: string, message: string, retryAfter?: string) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.retryAfter = retryAfter;
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

/** A failed read or watch as ./retry.ts judges it: a status with its Retry-After, or a transport error. */
export function failureOutcome(error: unknown): AttemptOutcome {
  return error instanceof KubeApiError ? { status: error.status, retryAfter: error.retryAfter } : { error };
}

/**
 * No answer in time: a request that heard nothing for the request timeout, or a watch that
 * heard nothing (no event, no bookmark, no byte) for its idle timeout. Never retried.
 */
/** Long enough for a scan's reads to fail at once behind the one that gave up; short next to a scan interval. */
const DEFAULT_BREAKER_COOLDOWN_MS = 10_000;

/** A read not sent: the API server did not answer recently, and another read is checking whether it is back. */
export class KubeUnavailableError extends Error {}

export class KubeTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
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
  /**
   * Nothing heard from the server (no event, bookmark or byte) for this long: the connection
   * is dead, and the watch fails with a KubeTimeoutError. Default: timeoutSeconds plus 30 s.
   */
  readonly idleTimeoutMs?: number;
  /** Called whenever the server is heard from: the watch opened, or bytes arrived. */
  readonly onHeard?: () => void;
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

export interface ClientOptions {
  /** After a read gives up for the server's trouble, how long every read fails at once (default 10 s). */
  readonly breakerCooldownMs?: number;
  /** A request that hears nothing for this long fails (connecting included). Default 30 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
}

/** A black-holed request fails after this long without a byte, instead of waiting on TCP. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

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
  readonly retryPolicy: RetryPolicy;
  /** Open after a read gave up for the server's trouble, until a read is answered again. */
  private breaker: { readonly why: string; readonly openUntil: number } | undefined;
  /** While the breaker is open, the one read sent to see whether the server is back. */
  private probing = false;
  private readonly breakerCooldownMs: number;

  constructor(auth: Auth, observer?: RequestObserver, options: ClientOptions = {}) {
    this.auth = auth;
    this.server = new URL(auth.server);
    this.serverPath = this.server.pathname.replace(/\/$/, "");
    this.agent = newAgent(this.server, auth.proxy, { keepAlive: true, maxSockets: 16 });
    this.watchAgent = newAgent(this.server, auth.proxy, { keepAlive: false });
    this.observer = observer;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.retryPolicy = options.retry ?? DEFAULT_RETRY_POLICY;
    this.breakerCooldownMs = options.breakerCooldownMs ?? DEFAULT_BREAKER_COOLDOWN_MS;
  }

  static async connect(options: ConnectionOptions, observer?: RequestObserver): Promise<KubeClient> {
    return new KubeClient(await loadAuth(options), observer, {
      ...(options.requestTimeoutMs !== undefined && { timeoutMs: options.requestTimeoutMs }),
    });
  }

  get serverUrl(): string {
    return this.server.toString();
  }

  /** Who applies the credentials, why client-node if it does, and the proxy without its credentials: for the log. */
  get authReader(): { reader: Auth["reader"]; delegated: readonly string[]; proxy: string | undefined } {
    const { reader, delegated, proxy } = this.auth;
    return { reader, delegated, proxy: proxy && `${proxy.protocol}//${proxy.host}` };
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
   * caller that keeps a little of each object never holds the whole collection parsed. The
   * next page is asked for once `onPage` is done with this one.
   * Returns the list's resourceVersion.
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  async listPages<T extends KubeObject = KubeObject>(
    path: string,
    resource: string,
    options: ListOptions,
    onPage: (items: readonly T[]) => void | Promise<void>,
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
      await onPage(page.items ?? []);
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      // The apiserver sends "" (not absent) on the last page.
      const next = page.metadata?.continue;
      continueToken = next === "" ? undefined : next;
    } while (continueToken);
    return resourceVersion;
  }

  /**
   * WATCH a collection from a resourceVersion, calling `onEvent` for each event, until the
   * server ends the stream (its timeout) or `signal` aborts. One attempt: the caller's watch
   * loop decides whether to watch again (./retry.ts says after how long). A non-2xx answer,
   * or an ERROR event (such as 410 Gone, the version being too old), is thrown as a
   * KubeApiError; silence past `idleTimeoutMs` as a KubeTimeoutError.
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
      // The stream is quiet between events; the apiserver's bookmarks (about one a minute)
      // are what tell a quiet watch from a dead connection.
      options.idleTimeoutMs ?? (options.timeoutSeconds + 30) * 1000,
      this.watchAgent,
    );
    const started = performance.now();
    let code = 0;
    let failure: FailureCode | undefined;
    this.observer?.watching?.(resource, 1);
    try {
      await stream(url, requestOptions, {
        onResponse: (status) => {
          code = status;
          options.onHeard?.();
        },
        onChunk: (chunk) => {
          options.onHeard?.();
          this.observer?.received?.("watch", resource, chunk.length);
        },
        toError: (status, body, retryAfter) =>
          apiError(status, body.toString("utf8"), "watch", url.pathname, retryAfter),
        onLine: (line) => {
          const event = JSON.parse(line) as { type: string; object: KubeObject };
          if (event.type === "ERROR") {
            const status = event.object as unknown as {
              code?: number;
              reason?: string;
              message?: string;
              details?: { retryAfterSeconds?: number };
            };
            const retryAfter = status.details?.retryAfterSeconds;
            throw new KubeApiError(
              status.code ?? 500,
              status.reason ?? "",
              `watch ${url.pathname}: ${String(status.code ?? "")} ${status.reason ?? ""}: ${status.message ?? ""}`,
              retryAfter === undefined ? undefined : String(retryAfter),
            );
          }
          onEvent(event as WatchEvent);
        },
      });
    } catch (error) {
      failure = failureCode(error, code, options.signal);
      throw error;
    } finally {
      this.observer?.watching?.(resource, -1);
      this.observer?.observe({
        verb: "watch",
        resource,
        failure,
        code,
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

  /** One GET, tried again after throttling, server errors and dropped connections. */
  private async request<T>(
    verb: Verb,
    resource: string,
    path: string,
    query: Record<string, string>,
    accept: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const url = this.url(path, query);
    const breaker = this.breaker;
    if (breaker && (this.probing || performance.now() < breaker.openUntil))
      throw new KubeUnavailableError(
        `${verb} ${url.pathname}: not sent: the API server did not answer a read just before (${breaker.why})`,
      );
    // After the cool-down, one read at a time checks whether the server is back.
    const probe = breaker !== undefined;
    if (probe) this.probing = true;
    try {
      return await this.tryRead<T>(verb, resource, url, accept, signal);
    } finally {
      if (probe) this.probing = false;
    }
  }

  private async tryRead<T>(
    verb: Verb,
    resource: string,
    url: URL,
    accept: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    for (let retry = 1; ; retry++) {
      let outcome: AttemptOutcome;
      try {
        const response = await this.attempt(verb, resource, url, accept, signal);
        // Any answer but throttling or a server error: the server is there again.
        if (!isRetryableStatus(response.status)) this.breaker = undefined;
        if (response.status >= 200 && response.status < 300) return JSON.parse(response.text) as T;
        outcome = { status: response.status, retryAfter: response.retryAfter };
        const error = apiError(response.status, response.text, verb, url.pathname, response.retryAfter);
        if (!(await this.backOff(retry, outcome, signal))) throw this.gaveUp(error, outcome);
      } catch (error) {
        if (error instanceof KubeApiError || signal?.aborted) throw error;
        outcome = { error };
        if (!(await this.backOff(retry, outcome, signal))) throw this.gaveUp(error, outcome);
      }
    }
  }

  /**
   * A read that failed for the server's trouble (throttled, erroring, unreachable, silent)
   * after its retries, or at once, opens a circuit breaker: for a cool-down every read fails at
   * once, then one read at a time is sent, once, until one gets an answer. Retries ride out a
   * blip; during an outage they, and in a partition each read's timeout, would add up over a
   * scan's dozens of reads, hold it past its own timeout (so it publishes nothing, and nothing is
   * marked stale), and keep loading an apiserver that struggles.
   */
  private gaveUp(error: unknown, outcome: AttemptOutcome): unknown {
    if ("status" in outcome ? isRetryableStatus(outcome.status) : true)
      this.breaker = {
        why: errorMessage(error),
        openUntil: performance.now() + this.breakerCooldownMs,
      };
    return error;
  }

  /** Waits before retry number `retry` and says true, or says false when the read must not be retried. */
  private async backOff(
    retry: number,
    outcome: AttemptOutcome,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    if (this.breaker !== undefined) return false;
    const delay = retryDelayMs(this.retryPolicy, retry, outcome);
    if (delay === undefined) return false;
    await wait(delay, signal);
    return true;
  }

  /** One attempt, observed whatever its end. */
  private async attempt(
    verb: Verb,
    resource: string,
    url: URL,
    accept: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const options = await this.requestOptions(accept ?? "application/json", signal, this.timeoutMs);
    const started = performance.now();
    let response: Response | undefined;
    let failure: FailureCode | undefined;
    try {
      response = await send(url, options);
      if (response.status < 200 || response.status >= 300) failure = statusFailure(response.status);
      return response;
    } catch (error) {
      failure = failureCode(error, 0, signal);
      throw error;
    } finally {
      this.observer?.observe({
        verb,
        resource,
        failure,
        code: response?.status ?? 0,
        bytes: response?.bytes ?? 0,
        seconds: (performance.now() - started) / 1000,
      });
    }
  }
}

/** Agents take `proxyEnv` from Node 24.5; older versions ignore it and would connect directly. */
function nodeTunnelsProxies(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 24 || (major === 24 && minor >= 5);
}

/** The client's agent: through the proxy auth chose (Node's built-in proxy support), else direct. */
function newAgent(server: URL, proxy: URL | undefined, options: http.AgentOptions): http.Agent {
  if (proxy && !nodeTunnelsProxies())
    throw new Error(
      `the API server is to be reached through proxy ${proxy.host}, which needs Node.js 24.5 or later (this is ${process.versions.node})`,
    );
  // An explicit proxyEnv, even empty: the choice is client-go's (./proxy.ts), never Node's own
  // reading of the environment, whose NO_PROXY rules differ.
  const proxyEnv = proxy ? { HTTPS_PROXY: proxy.toString(), HTTP_PROXY: proxy.toString() } : {};
  return server.protocol === "https:"
    ? new https.Agent({ ...options, proxyEnv })
    : new http.Agent({ ...options, proxyEnv });
}

interface Response {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly text: string;
  readonly bytes: number;
}

const timedOut = (what: string, ms: number) =>
  new KubeTimeoutError(`${what} timed out: nothing heard for ${String(Math.round(ms / 1000))}s`);

function send(url: URL, options: https.RequestOptions): Promise<Response> {
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
        const retryAfter = response.headers["retry-after"];
        resolve({ status: response.statusCode ?? 0, retryAfter, text: text + decoder.end(), bytes });
      });
      response.on("error", reject);
    });
    const timeoutMs = Number(options.timeout);
    const fail = () => {
      request.destroy(timedOut(`GET ${url.pathname}`, timeoutMs));
    };
    // The socket's idle timeout, and a deadline for the answer to begin: a connection that is
    // accepted but never answers (a TLS handshake into a partition) is idle in ways the socket
    // timer does not always see.
    const firstByte = setTimeout(fail, timeoutMs);
    request.once("response", () => {
      clearTimeout(firstByte);
    });
    request.once("close", () => {
      clearTimeout(firstByte);
    });
    request.on("timeout", fail);
    request.on("error", reject);
    request.end();
  });
}

interface StreamHandlers {
  /** The status line arrived. */
  readonly onResponse: (status: number) => void;
  readonly onChunk: (chunk: Buffer) => void;
  /** A non-2xx answer, read whole, becomes this error. */
  readonly toError: (status: number, body: Buffer, retryAfter: string | undefined) => Error;
  /** Each complete line of a 2xx answer; an error it throws ends the stream. */
  readonly onLine: (line: string) => void;
}

/** Streams a newline-delimited JSON response. */
function stream(url: URL, options: https.RequestOptions, handlers: StreamHandlers): Promise<void> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, options, (response) => {
      const status = response.statusCode ?? 0;
      handlers.onResponse(status);
      const chunks: Buffer[] = [];
      // A chunk can end inside a multi-byte character: the decoder holds it for the next one.
      const decoder = new StringDecoder("utf8");
      let pending = "";
      const fail = (error: unknown) => {
        request.destroy();
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      response.on("data", (chunk: Buffer) => {
        handlers.onChunk(chunk);
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
              handlers.onLine(line);
            } catch (error) {
              fail(error);
              return;
            }
          }
          newline = pending.indexOf("\n");
        }
      });
      response.on("end", () => {
        if (status < 200 || status >= 300)
          reject(handlers.toError(status, Buffer.concat(chunks), response.headers["retry-after"]));
        else resolve();
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(timedOut(`watch ${url.pathname}`, Number(options.timeout))));
    request.on("error", reject);
    request.end();
  });
}

function apiError(status: number, body: string, verb: Verb, path: string, retryAfter?: string): KubeApiError {
  let reason = "";
  let message = "";
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason ?? "";
    message = parsed.message ?? "";
  } catch {
    message = body.slice(0, 200);
  }
  return new KubeApiError(
    status,
    reason,
    `${verb} ${path}: ${String(status)} ${reason}: ${message}`.trim(),
    retryAfter,
  );
}
