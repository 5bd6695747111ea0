/**
 * What --web.config.file puts in front of every handler, in exporter-toolkit's order: the rate
 * limit, the configured response headers, then basic auth. The health endpoints stay open to
 * kubelet probes, which send no credentials and must not be throttled into a restart.
 */
import type { RequestHandler, Response } from "express";
import { BasicAuth, parseBasicAuth, type PasswordCheck } from "./basic-auth.ts";
import { RateLimiter } from "./rate-limit.ts";
import type { WebConfig } from "./web-config.ts";
import type { WebConfigSource } from "./web-config-source.ts";

export const OPEN_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

export interface AccessOptions {
  /** The config in effect for this request (reloaded when its file changed). */
  readonly config: () => Pick<WebConfig, "users" | "headers">;
  readonly auth: BasicAuth;
  readonly rateLimiter?: RateLimiter;
}

export function webAccess(options: AccessOptions): RequestHandler {
  const { auth, rateLimiter } = options;
  return (request, response, next) => {
    const { users, headers } = options.config();
    const open = OPEN_PATHS.has(request.path);
    if (!open && rateLimiter && !rateLimiter.allow()) {
      response.status(429).type("text").send("Too Many Requests\n");
      return;
    }
    response.set(headers);
    if (open || users.size === 0) {
      next();
      return;
    }
    const credentials = parseBasicAuth(request.headers.authorization);
    // Cached outcomes (every scrape after the first) answer at once, without a promise.
    const outcome = credentials ? auth.verify(users, credentials) : false;
    if (typeof outcome === "boolean") {
      if (outcome) next();
      else unauthorized(response);
      return;
    }
    outcome.then((allowed) => {
      if (allowed) next();
      else unauthorized(response);
    }, next);
  };
}

/** The access rules of a --web.config.file, read again per request when the file changed. */
export function accessFromConfig(source: WebConfigSource, check: PasswordCheck): RequestHandler {
  // Built once, as exporter-toolkit's limiter: a changed rate_limit applies at restart.
  const limit = source.initial.rateLimit;
  return webAccess({
    config: () => source.forRequest(),
    auth: new BasicAuth(check),
    ...(limit && { rateLimiter: new RateLimiter(limit) }),
  });
}

function unauthorized(response: Response): void {
  response
    .set("WWW-Authenticate", 'Basic realm="helm-drift-exporter"')
    .status(401)
    .type("text")
    .send("Unauthorized\n");
}
