/**
 * `--web.config.file`, in the format of Prometheus' exporter-toolkit, read and checked as its
 * web/tls_config.go and web/handler.go do, so a file that works for node_exporter works here
 * and one it refuses is refused: TLS (client certificates, versions, cipher suites, curves,
 * allowed SANs), HTTP/2, the allowed response headers, bcrypt basic auth users, rate limiting.
 * Every key and every difference: docs/web-config.md.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { validateHeaderValue } from "node:http";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import type { Node } from "yaml";
import { ConfigError } from "../config/config.ts";
import { GoYamlReader } from "./go-yaml.ts";
import {
  CLIENT_AUTH_TYPES,
  GO_CIPHER_SUITES,
  GO_CURVES,
  HTTP2_REQUIRED_CIPHER_SUITES,
  serverTlsOptions,
  TLS_VERSIONS,
  versionBelow,
  type ClientAuthType,
  type TlsSettings,
} from "./tls-options.ts";
import { errorMessage } from "../util/errors.ts";

export interface WebConfig {
  /** Absent: plain HTTP. */
  readonly tls?: TlsSettings;
  /** HTTP/2 next to HTTP/1.1 (over TLS only); exporter-toolkit's default is on. */
  readonly http2: boolean;
  /** user -> bcrypt hash; empty: no authentication. */
  readonly users: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
  /** A token bucket: `burst` requests, refilled one per `intervalMs`. */
  readonly rateLimit?: { readonly intervalMs: number; readonly burst: number };
  /** The config file and every file it names, absolute: a change to any is a reload. */
  readonly files: readonly string[];
}

/** Every problem of a web config file; reported like the other configuration errors. */
export class WebConfigError extends ConfigError {
  constructor(path: string, problems: readonly string[]) {
    super(problems.map((problem) => `--web.config.file ${path}: ${problem}`));
  }
}

const TOP_LEVEL_KEYS = ["tls_server_config", "http_server_config", "rate_limit", "basic_auth_users"];
const TLS_KEYS = [
  "cert",
  "key",
  "client_ca",
  "cert_file",
  "key_file",
  "client_auth_type",
  "client_ca_file",
  "cipher_suites",
  "curve_preferences",
  "min_version",
  "max_version",
  "prefer_server_cipher_suites",
  "client_allowed_sans",
];
const HTTP_KEYS = ["http2", "headers"];
const RATE_LIMIT_KEYS = ["interval", "burst"];

/** exporter-toolkit's extraHTTPHeaders: the only names allowed, and the values allowed for some. */
const ALLOWED_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  "Strict-Transport-Security": undefined,
  "X-Content-Type-Options": ["nosniff"],
  "X-Frame-Options": ["deny", "sameorigin"],
  "X-XSS-Protection": undefined,
  "Content-Security-Policy": undefined,
};

/** "RequireClientCert" is exporter-toolkit's older name for RequireAnyClientCert. */
const CLIENT_AUTH_ALIASES: Readonly<Record<string, ClientAuthType>> = {
  "": "NoClientCert",
  RequireClientCert: "RequireAnyClientCert",
};

/** What x/crypto/bcrypt (cost 4-31) and bcryptjs (versions 2a, 2b, 2y) both check. */
const BCRYPT_HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export function loadWebConfig(path: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new WebConfigError(path, [`cannot read: ${errorText(error)}`]);
  }
  const yaml = new GoYamlReader(text);
  const config = parseWebConfig(yaml, dirname(resolve(path)));
  if (yaml.problems.length > 0) throw new WebConfigError(path, yaml.problems);
  return { ...config, files: [resolve(path), ...config.files] };
}

function parseWebConfig(yaml: GoYamlReader, dir: string): WebConfig {
  const root = yaml.struct(yaml.root, "", TOP_LEVEL_KEYS);
  const http = yaml.struct(root.get("http_server_config"), "http_server_config", HTTP_KEYS);
  const http2 = yaml.bool(http.get("http2"), "http_server_config.http2", true);
  const tls = parseTls(yaml, root.get("tls_server_config"), dir);
  if (tls?.settings && http2) checkHttp2Ciphers(yaml, tls.settings);
  const rateLimit = parseRateLimit(yaml, root.get("rate_limit"));
  return {
    ...(tls?.settings && { tls: tls.settings }),
    http2,
    users: parseUsers(yaml, root.get("basic_auth_users")),
    headers: parseHeaders(yaml, http.get("headers")),
    ...(rateLimit && { rateLimit }),
    files: tls?.files ?? [],
  };
}

function parseUsers(yaml: GoYamlReader, node: Node | undefined): Map<string, string> {
  const users = new Map<string, string>();
  for (const [user, value] of yaml.map(node, "basic_auth_users")) {
    const path = `basic_auth_users.${user}`;
    const hash = yaml.string(value, path);
    const cost = Number(BCRYPT_HASH.exec(hash)?.[1]);
    if (cost >= 4 && cost <= 31) users.set(user, hash);
    else yaml.problems.push(`${path}: not a bcrypt hash (make one with htpasswd -nBC 10 "" | tr -d ':\\n')`);
  }
  return users;
}

function parseHeaders(yaml: GoYamlReader, node: Node | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of yaml.map(node, "http_server_config.headers")) {
    const path = `http_server_config.headers.${name}`;
    const text = yaml.string(value, path);
    if (!Object.hasOwn(ALLOWED_HEADERS, name)) {
      yaml.problems.push(
        `${path}: HTTP header ${JSON.stringify(name)} can not be configured (allowed: ${Object.keys(ALLOWED_HEADERS).join(", ")})`,
      );
      continue;
    }
    const allowed = ALLOWED_HEADERS[name];
    if (allowed && !allowed.includes(text)) {
      yaml.problems.push(
        `${path}: invalid value ${JSON.stringify(text)}; expected one of ${allowed.join(", ")}`,
      );
      continue;
    }
    try {
      validateHeaderValue(name, text);
      headers[name] = text;
    } catch {
      yaml.problems.push(`${path}: holds a character not allowed in an HTTP header`);
    }
  }
  return headers;
}

function parseRateLimit(yaml: GoYamlReader, node: Node | undefined): WebConfig["rateLimit"] {
  const limit = yaml.struct(node, "rate_limit", RATE_LIMIT_KEYS);
  const intervalMs = yaml.durationMs(limit.get("interval"), "rate_limit.interval");
  const burst = yaml.int(limit.get("burst"), "rate_limit.burst");
  // Go builds no limiter for a zero interval, and a negative one allows everything.
  return intervalMs > 0 ? { intervalMs, burst } : undefined;
}

interface ParsedTls {
  /** Undefined when TLS is off, or when its files could not be read. */
  readonly settings?: TlsSettings;
  readonly files: readonly string[];
}

function parseTls(yaml: GoYamlReader, node: Node | undefined, dir: string): ParsedTls | undefined {
  const fields = yaml.struct(node, "tls_server_config", TLS_KEYS);
  const text = (key: string) => yaml.string(fields.get(key), `tls_server_config.${key}`);
  const given = {
    cert: text("cert"),
    key: text("key"),
    clientCa: text("client_ca"),
    certFile: joinDir(dir, text("cert_file")),
    keyFile: joinDir(dir, text("key_file")),
    clientCaFile: joinDir(dir, text("client_ca_file")),
    clientAuth: text("client_auth_type"),
  };
  // Names are checked even when TLS is off, as Go checks them while reading the YAML.
  const minVersion = tlsVersion(yaml, fields.get("min_version"), "min_version", "TLS12");
  const maxVersion = tlsVersion(yaml, fields.get("max_version"), "max_version", "TLS13");
  const cipherSuites = namesFrom(
    yaml,
    fields.get("cipher_suites"),
    "cipher_suites",
    GO_CIPHER_SUITES,
    "cipher",
  );
  const curves = namesFrom(yaml, fields.get("curve_preferences"), "curve_preferences", GO_CURVES, "curve");
  // Checked, then ignored: Go ignores PreferServerCipherSuites since 1.17 (see tls-options.ts).
  yaml.bool(fields.get("prefer_server_cipher_suites"), "tls_server_config.prefer_server_cipher_suites", true);
  const clientAllowedSans = yaml.strings(
    fields.get("client_allowed_sans"),
    "tls_server_config.client_allowed_sans",
  );
  // exporter-toolkit's TLSConfig.IsEnabled: any of these turns TLS on.
  if (!Object.values(given).some((value) => value !== "")) return undefined;

  const problems = yaml.problems;
  const before = problems.length;
  if (given.certFile === "" && given.cert === "")
    problems.push("tls_server_config: missing one of cert or cert_file");
  if (given.keyFile === "" && given.key === "")
    problems.push("tls_server_config: missing one of key or key_file");
  const clientAuth = clientAuthType(yaml, given.clientAuth);
  // A file wins over the inline value, as in exporter-toolkit.
  const read = (file: string, inline: string, key: string) =>
    file !== "" ? readTlsFile(yaml, file, key) : inline === "" ? undefined : Buffer.from(inline);
  const cert = read(given.certFile, given.cert, "cert_file");
  const key = read(given.keyFile, given.key, "key_file");
  const clientCa = read(given.clientCaFile, given.clientCa, "client_ca_file");
  if (cert && key) checkKeyPair(yaml, cert, key);
  if (clientCa && !hasCertificate(clientCa))
    problems.push(
      `tls_server_config: ${given.clientCaFile !== "" ? "client_ca_file" : "client_ca"} holds no PEM certificate`,
    );
  if ((given.clientCaFile !== "" || given.clientCa !== "") && clientAuth === "NoClientCert")
    problems.push(
      "tls_server_config: client CAs have been configured without a client_auth_type that asks for client certificates",
    );
  if (minVersion && maxVersion && versionBelow(maxVersion, minVersion))
    problems.push("tls_server_config: min_version is above max_version: no handshake could succeed");
  const files = [given.certFile, given.keyFile, given.clientCaFile].filter((file) => file !== "");
  if (problems.length > before || !cert || !key || !clientAuth || !minVersion || !maxVersion)
    return { files };

  const settings: TlsSettings = {
    cert,
    key,
    ...(clientCa && { clientCa }),
    clientAuth,
    ...(clientAllowedSans && { clientAllowedSans }),
    minVersion,
    maxVersion,
    // Go uses its defaults for an empty list as for a missing one.
    ...(cipherSuites?.length && { cipherSuites }),
    ...(curves?.length && { curvePreferences: curves }),
  };
  try {
    createSecureContext(serverTlsOptions(settings));
  } catch (error) {
    problems.push(`tls_server_config: refused by the TLS library: ${errorText(error)}`);
    return { files };
  }
  return { settings, files };
}

function tlsVersion(
  yaml: GoYamlReader,
  node: Node | undefined,
  key: string,
  fallback: string,
): TlsSettings["minVersion"] | undefined {
  const name = node === undefined ? fallback : yaml.string(node, `tls_server_config.${key}`);
  const version = Object.hasOwn(TLS_VERSIONS, name) ? TLS_VERSIONS[name] : undefined;
  if (!version)
    yaml.problems.push(
      `tls_server_config.${key}: unknown TLS version ${JSON.stringify(name)}; one of ${Object.keys(TLS_VERSIONS).join(", ")}`,
    );
  return version;
}

function namesFrom(
  yaml: GoYamlReader,
  node: Node | undefined,
  key: string,
  known: Readonly<Record<string, unknown>>,
  what: string,
): string[] | undefined {
  const names = yaml.strings(node, `tls_server_config.${key}`);
  names?.forEach((name, index) => {
    if (!Object.hasOwn(known, name))
      yaml.problems.push(
        `tls_server_config.${key}[${String(index)}]: unknown ${what} ${JSON.stringify(name)}`,
      );
  });
  return names;
}

function clientAuthType(yaml: GoYamlReader, name: string): ClientAuthType | undefined {
  const mode = Object.hasOwn(CLIENT_AUTH_ALIASES, name)
    ? CLIENT_AUTH_ALIASES[name]
    : CLIENT_AUTH_TYPES.find((type) => type === name);
  if (!mode)
    yaml.problems.push(
      `tls_server_config.client_auth_type: invalid ClientAuth ${JSON.stringify(name)}; one of ${CLIENT_AUTH_TYPES.join(", ")}`,
    );
  return mode;
}

function checkHttp2Ciphers(yaml: GoYamlReader, tls: TlsSettings): void {
  // Go's http2.ConfigureServer: TLS 1.2 must be able to negotiate the suite HTTP/2 requires.
  if (!tls.cipherSuites || !versionBelow(tls.minVersion, "TLSv1.3")) return;
  if (!tls.cipherSuites.some((name) => HTTP2_REQUIRED_CIPHER_SUITES.includes(name)))
    yaml.problems.push(
      `tls_server_config.cipher_suites: HTTP/2 needs ${HTTP2_REQUIRED_CIPHER_SUITES.join(" or ")} (or set http_server_config.http2: false)`,
    );
}

function checkKeyPair(yaml: GoYamlReader, cert: Buffer, key: Buffer): void {
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    yaml.problems.push(`tls_server_config: cannot load the certificate and key: ${errorText(error)}`);
  }
}

function hasCertificate(pem: Buffer): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

function readTlsFile(yaml: GoYamlReader, file: string, key: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    yaml.problems.push(`tls_server_config.${key}: cannot read ${file}: ${errorText(error)}`);
    return undefined;
  }
}

/** prometheus/common's config.JoinDir: relative paths are relative to the config file. */
function joinDir(dir: string, path: string): string {
  return path === "" || isAbsolute(path) ? path : join(dir, path);
}

function errorText(error: unknown): string {
  return errorMessage(error);
}
