/**
 * The listening server for the app: plain HTTP, or TLS as --web.config.file sets it up, with
 * HTTP/2 next to HTTP/1.1 unless `http2: false`. Each new connection first checks whether the
 * config or its certificate files changed (a rotated certificate serves the next handshake);
 * each completed handshake is held to the client-certificate rules Go applies.
 */
import http from "node:http";
import http2, { constants as http2Constants, type Http2Session } from "node:http2";
import https from "node:https";
import type { Server } from "node:net";
import type { TLSSocket, TlsOptions } from "node:tls";
import type { Express } from "express";
import type { Logger } from "../log/logger.ts";
import { clientRefusal } from "./client-auth.ts";
import { http2Capable } from "./express-http2.ts";
import { serverTlsOptions, type TlsSettings } from "./tls-options.ts";
import type { WebConfigSource } from "./web-config-source.ts";

/** A TLS server (https or http2) and the two client-auth switches Node reads per connection. */
type TlsServer = Server & {
  setSecureContext(options: TlsOptions): void;
  requestCert: boolean;
  rejectUnauthorized: boolean;
};

export interface WebServer {
  readonly server: Server;
  /** Stops accepting, ends open connections, resolves when closed. */
  close(): Promise<void>;
}

export function createWebServer(
  app: Express,
  source: WebConfigSource | undefined,
  logger: Logger,
): WebServer {
  const tls = source?.initial.tls;
  if (!source || !tls) {
    const server = http.createServer(app);
    return { server, close: () => closeHttp(server) };
  }
  const web = source.initial.http2 ? http2Server(app, tls) : httpsServer(app, tls);
  watchTlsChanges(web.server as TlsServer, source);
  refuseClientsGoRefuses(web.server, source, logger);
  return web;
}

function httpsServer(app: Express, tls: TlsSettings): WebServer {
  const server = https.createServer(serverTlsOptions(tls), app);
  return { server, close: () => closeHttp(server) };
}

/** HTTP/2 with HTTP/1.1 for clients that do not ask for h2 (ALPN), as Go's server. */
function http2Server(app: Express, tls: TlsSettings): WebServer {
  const server = http2.createSecureServer({ ...serverTlsOptions(tls), allowHTTP1: true }, http2Capable(app));
  // An HTTP/2 server has no closeAllConnections(): it keeps its sessions and HTTP/1.1 sockets.
  const sessions = new Set<Http2Session>();
  const sockets = new Set<TLSSocket>();
  server.on("secureConnection", (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("session", (session: Http2Session) => {
    if (refuseWeakHttp2(session)) return;
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  return {
    server,
    close: async () => {
      const closed = new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      for (const session of sessions) session.close();
      for (const socket of sockets) if (socket.alpnProtocol !== "h2") socket.destroy();
      await closed;
    },
  };
}

/**
 * Before the TLS layer takes a new connection (this listener runs ahead of Node's own), the
 * files are checked; a change installs the new certificate, CAs and client-auth mode for it.
 */
function watchTlsChanges(server: TlsServer, source: WebConfigSource): void {
  let applied: TlsSettings | undefined = source.initial.tls;
  server.prependListener("connection", () => {
    const tls = source.forConnection().tls;
    if (!tls || tls === applied) return;
    const options = serverTlsOptions(tls);
    server.setSecureContext(options);
    // setSecureContext() leaves these two alone; Node's connection listener reads them from
    // the server for each new socket.
    server.requestCert = options.requestCert === true;
    server.rejectUnauthorized = options.rejectUnauthorized === true;
    applied = tls;
  });
}

/**
 * Stands between the TLS layer and the HTTP layer: a client Go's handshake would have refused
 * is disconnected, and never reaches the HTTP layer. (OpenSSL refuses a missing certificate in
 * RequireAndVerifyClientCert itself; Node cannot fail a handshake on a verification result.)
 */
function refuseClientsGoRefuses(server: Server, source: WebConfigSource, logger: Logger): void {
  const httpLayer = server.listeners("secureConnection") as ((socket: TLSSocket) => void)[];
  server.removeAllListeners("secureConnection");
  server.on("secureConnection", (socket: TLSSocket) => {
    const tls = source.current.tls;
    const refusal = tls && clientRefusal(socket, tls);
    if (refusal) {
      logger.debug({ remote: socket.remoteAddress, reason: refusal }, "TLS client refused");
      socket.destroy();
      return;
    }
    for (const listener of httpLayer) listener.call(server, socket);
  });
}

/**
 * Go's HTTP/2 server ends a connection negotiated below TLS 1.2 or with a cipher suite RFC 7540
 * forbids (of those Go offers: the CBC ones) with INADEQUATE_SECURITY.
 */
function refuseWeakHttp2(session: Http2Session): boolean {
  const socket = session.socket as TLSSocket;
  const protocol = socket.getProtocol();
  const cipher = socket.getCipher().standardName;
  const weak = protocol !== "TLSv1.3" && (protocol !== "TLSv1.2" || cipher.includes("_CBC_"));
  if (weak) {
    session.goaway(http2Constants.NGHTTP2_INADEQUATE_SECURITY);
    session.destroy();
  }
  return weak;
}

async function closeHttp(server: http.Server | https.Server): Promise<void> {
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  server.closeAllConnections();
}
