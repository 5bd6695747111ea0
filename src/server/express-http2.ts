/**
 * Serves an Express app over HTTP/2 (node:http2's compatibility API) as well as HTTP/1.1.
 * Express gives each request its own request and response prototypes, built on
 * http.IncomingMessage and http.ServerResponse; set on an HTTP/2 request they would hide the
 * Http2ServerRequest's own members (url, headers, end...). For HTTP/2 requests the app is
 * therefore run with the same Express methods laid on the HTTP/2 classes instead.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import express, { type Express } from "express";

export type DualRequestListener = (
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
) => void;

interface Handles {
  readonly handle: (this: unknown, request: unknown, response: unknown) => void;
}

export function http2Capable(app: Express): DualRequestListener {
  const methods = (base: object, expressPrototype: object) =>
    Object.create(base, {
      ...Object.getOwnPropertyDescriptors(expressPrototype),
      app: { configurable: true, enumerable: true, writable: true, value: app },
    }) as object;
  const http2App = Object.create(app, {
    request: { value: methods(Http2ServerRequest.prototype, express.request) },
    response: { value: methods(Http2ServerResponse.prototype, express.response) },
  }) as Handles;
  const handle = (app as unknown as Handles).handle;
  return (request, response) => {
    if (request instanceof Http2ServerRequest) handle.call(http2App, request, response);
    else app(request, response as ServerResponse);
  };
}
