/**
 * The last handler: any error Express meets (a URL it cannot decode, a body it cannot parse, a
 * handler that throws or rejects) is answered as JSON, in every NODE_ENV. Express's own handler
 * would send an HTML page with the stack trace, and with it the install paths.
 */
import { STATUS_CODES } from "node:http";
import type { ErrorRequestHandler } from "express";

export function jsonErrors(onServerError: (error: unknown) => void): ErrorRequestHandler {
  // Express tells an error handler by its four parameters, the last one unused here.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  return (error: unknown, _request, response, _next) => {
    const status = httpStatus(error);
    if (status >= 500) onServerError(error);
    if (response.headersSent) {
      // Part of the answer is out: only cutting it short tells the client it is incomplete.
      response.destroy();
      return;
    }
    response.status(status).json({ error: publicMessage(error, status) });
  };
}

/** The status an http-errors error carries (400 for a bad URI or body), else 500. */
function httpStatus(error: unknown): number {
  const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
  const code = typeof status === "number" ? status : statusCode;
  return typeof code === "number" && Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500;
}

/**
 * A client error's own message ("Failed to decode param '%ZZ'"), unless it is marked private
 * (http-errors' `expose`); a server error's only as its status text.
 */
function publicMessage(error: unknown, status: number): string {
  const { expose, message } = (error ?? {}) as { expose?: unknown; message?: unknown };
  if (status < 500 && expose !== false && typeof message === "string") return message;
  return STATUS_CODES[status] ?? "Error";
}
