/** Runs the exporter's web server from a --web.config.file text, and real clients against it. */
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { PassThrough } from "node:stream";
import type { SecureVersion } from "node:tls";
import { createLogger } from "../../src/log/logger.ts";
import { SelfMetrics } from "../../src/metrics/self-metrics.ts";
import { accessFromConfig } from "../../src/server/access.ts";
import { createApp } from "../../src/server/app.ts";
import type { PasswordCheck } from "../../src/server/basic-auth.ts";
import { BcryptThread } from "../../src/server/bcrypt-thread.ts";
import { PublicationStore } from "../../src/server/store.ts";
import { WebConfigSource } from "../../src/server/web-config-source.ts";
import { createWebServer } from "../../src/server/web-server.ts";
import type { Issued } from "./pki.ts";

export interface RunningWeb {
  readonly port: number;
  /** The base URL; https when the config has TLS. */
  readonly url: string;
  readonly configFile: string;
  readonly source: WebConfigSource;
  readonly bcrypt: BcryptThread;
  /** The log lines written so far, parsed. */
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface WebOptions {
  /** Wraps the bcrypt thread's check, to watch what is checked. */
  readonly check?: (thread: BcryptThread) => PasswordCheck;
}

export async function startWeb(
  dir: string,
  configText: string,
  options: WebOptions = {},
): Promise<RunningWeb> {
  const configFile = path.join(dir, "web.yml");
  writeFileSync(configFile, configText);
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on("data", (chunk: Buffer) =>
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean)),
  );
  const logger = createLogger({ level: "debug", format: "json", destination });
  const source = new WebConfigSource(configFile, logger);
  const bcrypt = new BcryptThread();
  const app = createApp({
    store: new PublicationStore(),
    registry: new SelfMetrics({ processMetrics: false }).registry,
    telemetryPath: "/metrics",
    access: accessFromConfig(
      source,
      options.check?.(bcrypt) ?? ((password, hash) => bcrypt.compare(password, hash)),
    ),
  });
  const web = createWebServer(app, source, logger);
  web.server.listen(0, "127.0.0.1");
  await once(web.server, "listening");
  return {
    port: (web.server.address() as AddressInfo).port,
    url: `${source.initial.tls ? "https" : "http"}://127.0.0.1:${String((web.server.address() as AddressInfo).port)}`,
    configFile,
    source,
    bcrypt,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    close: async () => {
      await web.close();
      await bcrypt.close();
    },
  };
}

/** Runs `run` against a web server started from `configText`, then closes it. */
export async function withWeb(
  dir: string,
  configText: string,
  run: (web: RunningWeb) => Promise<void>,
  options: WebOptions = {},
): Promise<void> {
  const web = await startWeb(dir, configText, options);
  try {
    await run(web);
  } finally {
    await web.close();
  }
}

export interface ClientOptions {
  readonly ca: Buffer;
  readonly cert?: Issued;
  readonly path?: string;
  /** user:password */
  readonly auth?: string;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  readonly ciphers?: string;
  readonly ecdhCurve?: string;
}

export type ClientResult =
  | {
      readonly status: number;
      readonly body: string;
      readonly protocol: string | null;
      readonly cipher: string;
      readonly serverCert: string;
    }
  | { readonly error: string };

/** One HTTPS/1.1 request on a fresh connection: the answer, or the error the client saw. */
export function httpsGet(port: number, options: ClientOptions): Promise<ClientResult> {
  return new Promise((resolve) => {
    const request = https.get(
      {
        host: "127.0.0.1",
        port,
        path: options.path ?? "/healthz",
        servername: "localhost",
        agent: false,
        ca: options.ca,
        ...(options.cert && { cert: options.cert.cert, key: options.cert.key }),
        ...(options.auth && { auth: options.auth }),
        ...(options.minVersion && { minVersion: options.minVersion }),
        ...(options.maxVersion && { maxVersion: options.maxVersion }),
        ...(options.ciphers && { ciphers: options.ciphers }),
        ...(options.ecdhCurve && { ecdhCurve: options.ecdhCurve }),
      },
      (response) => {
        const socket = response.socket as import("node:tls").TLSSocket;
        const details = {
          protocol: socket.getProtocol(),
          cipher: socket.getCipher().standardName,
          serverCert: String(socket.getPeerCertificate().subject.CN),
        };
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        response.on("end", () => {
          resolve({ status: response.statusCode ?? 0, body, ...details });
        });
        response.on("error", (error: NodeJS.ErrnoException) => {
          resolve({ error: errorText(error) });
        });
      },
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      resolve({ error: errorText(error) });
    });
  });
}

export type Http2Result =
  | { readonly status: number; readonly body: string; readonly alpn: string | false | undefined }
  | { readonly error: string };

/** One HTTP/2 request on a fresh session. */
export function http2Get(
  port: number,
  options: Pick<ClientOptions, "ca" | "cert" | "path" | "ciphers" | "maxVersion">,
): Promise<Http2Result> {
  return new Promise((resolve) => {
    const session = http2.connect(`https://localhost:${String(port)}`, {
      ca: options.ca,
      ...(options.cert && { cert: options.cert.cert, key: options.cert.key }),
      ...(options.ciphers && { ciphers: options.ciphers }),
      ...(options.maxVersion && { maxVersion: options.maxVersion }),
    });
    const fail = (error: NodeJS.ErrnoException) => {
      session.destroy();
      resolve({ error: errorText(error) });
    };
    session.on("error", fail);
    session.on("goaway", (code) => {
      session.destroy();
      resolve({ error: `GOAWAY ${String(code)}` });
    });
    const stream = session.request({ ":path": options.path ?? "/healthz" });
    stream.on("error", fail);
    let status = 0;
    let body = "";
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    stream.on("end", () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolve(status === 0 ? { error: "closed without an answer" } : { status, body, alpn });
    });
  });
}

function errorText(error: NodeJS.ErrnoException): string {
  return `${error.code ?? "error"}: ${error.message}`;
}
