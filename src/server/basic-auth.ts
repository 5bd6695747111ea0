/** Basic auth against bcrypt hashes; a verified credential is remembered so scrapes stay cheap. */
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import type { RequestHandler } from "express";

/** Health endpoints stay open: they reveal nothing, and kubelet probes send no credentials. */
const OPEN_PATHS = new Set(["/healthz", "/readyz"]);

export function basicAuth(users: ReadonlyMap<string, string>): RequestHandler {
  // bcrypt costs ~50-100 ms by design; remember digests of credentials that passed.
  const verified = new Set<string>();
  return (request, response, next) => {
    if (users.size === 0 || OPEN_PATHS.has(request.path)) {
      next();
      return;
    }
    const header = request.headers.authorization ?? "";
    const decoded = header.startsWith("Basic ")
      ? Buffer.from(header.slice(6), "base64").toString("utf8")
      : "";
    const separator = decoded.indexOf(":");
    const user = separator > 0 ? decoded.slice(0, separator) : "";
    const password = separator > 0 ? decoded.slice(separator + 1) : "";
    const hash = users.get(user);
    const digest = createHash("sha256").update(decoded).digest("hex");
    const ok = hash !== undefined && (verified.has(digest) || bcrypt.compareSync(password, hash));
    if (!ok) {
      response
        .set("WWW-Authenticate", 'Basic realm="helm-drift-exporter"')
        .status(401)
        .type("text")
        .send("unauthorized\n");
      return;
    }
    verified.add(digest);
    next();
  };
}
