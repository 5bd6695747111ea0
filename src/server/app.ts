/**
 * The HTTP face of the exporter. Every handler writes the bytes published for the last scan
 * or reads the in-process registry; none talks to the cluster or renders a scan's results.
 */
import express, { type Express, type RequestHandler, type Response } from "express";
import type { Registry } from "prom-client";
import { releaseKey } from "../model/refs.ts";
import { NAME, VERSION } from "../util/version.ts";
import { jsonErrors } from "./errors.ts";
import type { Published } from "./published.ts";
import { gzipMetrics, type PublicationStore } from "./store.ts";

export interface AppOptions {
  readonly store: PublicationStore;
  readonly registry: Registry;
  readonly telemetryPath: string;
  /** From --web.config.file: rate limit, response headers and basic auth (./access.ts). */
  readonly access?: RequestHandler;
  /** An error answered 500 (its message is never sent): for the log. */
  readonly onServerError?: (error: unknown) => void;
  /** How long one collection of the live metrics serves scrapes (default 1 s). */
  readonly liveMetricsMaxAgeMs?: number;
}

const DEFAULT_LIVE_METRICS_MAX_AGE_MS = 1000;

export function createApp(options: AppOptions): Express {
  const { store, registry, telemetryPath } = options;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  if (options.access) app.use(options.access);

  app.get("/", (_request, response) => {
    response.type("html").send(landingPage(telemetryPath));
  });

  // The live metrics (process stats read from /proc, API counters) are collected at most once
  // per liveMetricsMaxAgeMs, and compressed once with them: scrapes in between (Prometheus
  // replicas, a dashboard, a busy scraper) only write ready bytes, as they do for the snapshot.
  const maxAgeMs = options.liveMetricsMaxAgeMs ?? DEFAULT_LIVE_METRICS_MAX_AGE_MS;
  let live: { readonly at: number; readonly body: Promise<Buffer> } | undefined;
  const liveMetrics = (): Promise<Buffer> => {
    const now = performance.now();
    if (!live || now - live.at >= maxAgeMs) {
      const body = registry.metrics().then((text) => Buffer.from(text, "utf8"));
      live = { at: now, body };
      body.catch(() => {
        if (live?.body === body) live = undefined;
      });
    }
    return live.body;
  };
  let gzipped:
    | { readonly published: Published | undefined; readonly live: Buffer; readonly parts: Buffer[] }
    | undefined;
  const gzipParts = (published: Published | undefined, liveBody: Buffer): Buffer[] => {
    if (!gzipped || gzipped.published !== published || gzipped.live !== liveBody)
      gzipped = { published, live: liveBody, parts: gzipMetrics(published, liveBody) };
    return gzipped.parts;
  };

  app.get(telemetryPath, async (request, response) => {
    const liveBody = await liveMetrics();
    const published = store.current;
    // Ready bytes, written as they are: the snapshot's megabytes are never copied or
    // compressed again per scrape. Prometheus asks for gzip.
    const parts =
      request.acceptsEncodings("gzip", "identity") === "gzip"
        ? gzipParts(published, liveBody)
        : [published?.metricsBody ?? Buffer.alloc(0), liveBody];
    response.type(registry.contentType).vary("Accept-Encoding");
    if (parts.length > 2) response.set("Content-Encoding", "gzip");
    response.set("Content-Length", String(parts.reduce((total, part) => total + part.length, 0)));
    for (const part of parts.slice(0, -1)) response.write(part);
    response.end(parts.at(-1));
  });

  app.get("/healthz", (_request, response) => {
    response.type("text").send("ok\n");
  });

  app.get("/readyz", (_request, response) => {
    if (store.ready) response.type("text").send("ok\n");
    else response.status(503).type("text").send("waiting for a scan that reads release storage\n");
  });

  app.get("/api/v1/releases", (_request, response) => {
    const published = store.current;
    if (!published) {
      notReady(response);
      return;
    }
    response.type("json").send(published.releasesBody);
  });

  app.get("/api/v1/releases/:namespace/:release", (request, response) => {
    const published = store.current;
    if (!published) {
      notReady(response);
      return;
    }
    const key = releaseKey({ namespace: request.params.namespace, release: request.params.release });
    const span = published.releaseSpans.get(key);
    if (!span) {
      response.status(404).json({ error: `no release ${key} in the last scan` });
      return;
    }
    const body = Buffer.concat([
      Buffer.from(`{"scan":${published.scanJson},"release":`),
      published.releasesBody.subarray(...span),
      Buffer.from("}"),
    ]);
    response.type("json").send(body);
  });

  app.use((_request, response) => {
    response.status(404).type("text").send("not found\n");
  });
  app.use(jsonErrors(options.onServerError ?? (() => undefined)));
  return app;
}

function notReady(response: Response): void {
  response.status(503).json({ error: "waiting for the first scan" });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${String(char.charCodeAt(0))};`);
}

function landingPage(telemetryPath: string): string {
  const links: [string, string][] = [
    [telemetryPath, "Metrics"],
    ["/api/v1/releases", "Releases (JSON)"],
    ["/healthz", "Health"],
    ["/readyz", "Readiness"],
  ];
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${NAME}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:50rem}code{background:#eee;padding:0 .2rem}</style></head>
<body>
<h1>${NAME}</h1>
<p>Version <code>${VERSION}</code>. Finds drift, failed and stuck revisions in Helm releases.</p>
<ul>
${links.map(([href, text]) => `<li><a href="${escapeHtml(href)}">${text}</a></li>`).join("\n")}
</ul>
</body>
</html>
`;
}
