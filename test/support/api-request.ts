/**
 * One raw HTTPS request to an apiserver as one identity, answering status, headers and body
 * whatever they are: for tests that look at what client libraries hide (429 and Retry-After,
 * API Priority and Fairness headers, the apiserver's answers while it starts).
 */
import { readFileSync } from "node:fs";
import https from "node:https";
import type { ClusterInfo, Identity } from "../../controlplane/cluster-info.ts";

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface ApiRequestOptions {
  /** Another address for the apiserver (a TcpProxy url); the cluster's by default. */
  readonly server?: string;
  readonly method?: string;
  /** Reuse connections across requests (and bound them): one per concurrent request. */
  readonly agent?: https.Agent;
}

/** TLS trust in the cluster's CA and the identity's bearer token, for node:https. */
export function asIdentity(info: ClusterInfo, identity: Identity, headers: Record<string, string> = {}) {
  return {
    ca: readFileSync(info.caFile),
    headers: { Authorization: `Bearer ${identity.token}`, ...headers },
  } satisfies https.RequestOptions;
}

/** Rejects only when no HTTP answer comes (connection refused, reset, TLS failure). */
export function apiRequest(
  info: ClusterInfo,
  identity: Identity,
  path: string,
  options: ApiRequestOptions = {},
): Promise<ApiResponse> {
  const url = new URL(path, options.server ?? info.server);
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: options.method ?? "GET",
        ...asIdentity(info, identity, { Accept: "application/json" }),
        ...(options.agent && { agent: options.agent }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          });
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end();
  });
}

export interface ApiWatch {
  /** The watch events received so far, parsed. */
  readonly events: readonly { type: string; object: { metadata?: { name?: string } } }[];
  /** Resolves when the stream ends or breaks: "end", or the error's code (ECONNRESET, ...). */
  readonly ended: Promise<string>;
  close(): void;
}

/** A raw watch (`?watch=1` on `path`), collecting its events as they arrive. */
export function apiWatch(
  info: ClusterInfo,
  identity: Identity,
  path: string,
  options: ApiRequestOptions = {},
): Promise<ApiWatch> {
  const url = new URL(path, options.server ?? info.server);
  url.searchParams.set("watch", "1");
  const events: ApiWatch["events"][number][] = [];
  return new Promise((resolve, reject) => {
    let settle: (how: string) => void = () => undefined;
    const ended = new Promise<string>((done) => (settle = done));
    const request = https.get(url, asIdentity(info, identity), (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`watch ${path}: HTTP ${String(response.statusCode)}`));
        response.resume();
        return;
      }
      let pending = "";
      response.on("data", (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines)
          if (line.trim()) events.push(JSON.parse(line) as ApiWatch["events"][number]);
      });
      response.on("end", () => {
        settle("end");
      });
      response.on("error", (error: NodeJS.ErrnoException) => {
        settle(error.code ?? error.message);
      });
      resolve({ events, ended, close: () => request.destroy() });
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      settle(error.code ?? error.message);
      reject(error);
    });
  });
}
