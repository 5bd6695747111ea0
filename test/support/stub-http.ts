/**
 * A local HTTP server on 127.0.0.1 for unit tests of the exporter's own HTTP client: how it
 * pages, retries, watches and fails. Never a stand-in for Kubernetes behaviour in an
 * integration test: what it answers is what the test says, not what an apiserver would.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Auth } from "../../src/kube/auth.ts";

export interface StubRequest {
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  /** performance.now() when the request arrived. */
  readonly at: number;
}

export type StubHandler = (request: StubRequest, response: http.ServerResponse) => void | Promise<void>;

export interface StubServer {
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: StubRequest[];
  /** The requests to a path (without query). */
  readonly to: (pathname: string) => StubRequest[];
  readonly close: () => Promise<void>;
}

export async function stubServer(handler: StubHandler, port = 0): Promise<StubServer> {
  const requests: StubRequest[] = [];
  const server = http.createServer((incoming, response) => {
    const request = {
      url: new URL(incoming.url ?? "/", "http://stub"),
      headers: incoming.headers,
      at: performance.now(),
    };
    requests.push(request);
    Promise.resolve(handler(request, response)).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(address.port)}`,
    port: address.port,
    requests,
    to: (pathname) => requests.filter((request) => request.url.pathname === pathname),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Answers JSON with a status (and headers such as Retry-After). */
export function json(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  response.writeHead(status, { "Content-Type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** A Kubernetes Status body, as the apiserver sends with an error. */
export function status(code: number, reason: string, message = reason): unknown {
  return { kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message };
}

/** Opens a watch stream: the status line and headers now, events as the test writes them. */
export function openWatch(response: http.ServerResponse): (event: unknown) => void {
  response.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
  response.flushHeaders();
  return (event) => {
    response.write(`${JSON.stringify(event)}\n`);
  };
}

/** Credentials for a plain http stub: none. */
export function stubAuth(server: string): Auth {
  return {
    server,
    reader: "kubeconfig",
    delegated: [],
    proxy: undefined,
    ownsAgent: false,
    apply: () => Promise.resolve(),
  };
}
