/**
 * `--web.config.file`, in the format of Prometheus' exporter-toolkit, so the same file
 * works for node_exporter and this exporter: TLS (with optional client certificates),
 * bcrypt-hashed basic auth users, and extra response headers.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { SecureVersion } from "node:tls";
import { parse } from "yaml";

export interface WebConfig {
  readonly tls?: {
    readonly cert: Buffer;
    readonly key: Buffer;
    readonly ca?: Buffer;
    readonly requestCert: boolean;
    readonly rejectUnauthorized: boolean;
    readonly minVersion?: SecureVersion;
  };
  /** user -> bcrypt hash */
  readonly users: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
}

const CLIENT_AUTH = {
  NoClientCert: { requestCert: false, rejectUnauthorized: false, needsCa: false },
  RequestClientCert: { requestCert: true, rejectUnauthorized: false, needsCa: false },
  RequireAnyClientCert: { requestCert: true, rejectUnauthorized: false, needsCa: false },
  VerifyClientCertIfGiven: { requestCert: true, rejectUnauthorized: false, needsCa: true },
  RequireAndVerifyClientCert: { requestCert: true, rejectUnauthorized: true, needsCa: true },
} as const;
const TLS_VERSIONS: Record<string, SecureVersion> = {
  TLS10: "TLSv1",
  TLS11: "TLSv1.1",
  TLS12: "TLSv1.2",
  TLS13: "TLSv1.3",
};
const TOP_LEVEL = new Set(["tls_server_config", "basic_auth_users", "http_server_config"]);
const TLS_KEYS = new Set(["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"]);
const BCRYPT = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

export class WebConfigError extends Error {}

export function loadWebConfig(path: string): WebConfig {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, "utf8"), { maxAliasCount: 100 });
  } catch (error) {
    throw new WebConfigError(
      `--web.config.file ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const problems: string[] = [];
  const config = parseWebConfig(raw ?? {}, path, problems);
  if (problems.length > 0)
    throw new WebConfigError(`--web.config.file ${path}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return config;
}

function parseWebConfig(raw: unknown, path: string, problems: string[]): WebConfig {
  const root = mapping(raw, "the file", problems);
  for (const key of Object.keys(root))
    if (!TOP_LEVEL.has(key)) problems.push(`unknown key ${JSON.stringify(key)}`);
  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(mapping(root.basic_auth_users, "basic_auth_users", problems))) {
    if (typeof hash !== "string" || !BCRYPT.test(hash))
      problems.push(`basic_auth_users.${user}: must be a bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')`);
    else users.set(user, hash);
  }
  const headers: Record<string, string> = {};
  const server = mapping(root.http_server_config, "http_server_config", problems);
  for (const [name, value] of Object.entries(
    mapping(server.headers, "http_server_config.headers", problems),
  )) {
    if (typeof value !== "string") problems.push(`http_server_config.headers.${name}: must be a string`);
    else headers[name] = value;
  }
  if (root.tls_server_config === undefined) return { users, headers };
  const tls = mapping(root.tls_server_config, "tls_server_config", problems);
  for (const key of Object.keys(tls))
    if (!TLS_KEYS.has(key)) problems.push(`tls_server_config: unknown key ${JSON.stringify(key)}`);
  const file = (key: string): Buffer | undefined => {
    const value = tls[key];
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string") {
      problems.push(`tls_server_config.${key}: must be a file path`);
      return undefined;
    }
    try {
      return readFileSync(resolve(dirname(resolve(path)), value));
    } catch (error) {
      problems.push(
        `tls_server_config.${key}: cannot read ${value}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  };
  const cert = file("cert_file");
  const key = file("key_file");
  const ca = file("client_ca_file");
  if (!cert || !key) problems.push("tls_server_config needs cert_file and key_file");
  const authType =
    typeof tls.client_auth_type === "string" && tls.client_auth_type !== ""
      ? tls.client_auth_type
      : "NoClientCert";
  const clientAuth = authType in CLIENT_AUTH ? CLIENT_AUTH[authType as keyof typeof CLIENT_AUTH] : undefined;
  if (!clientAuth)
    problems.push(
      `tls_server_config.client_auth_type: ${authType} is not one of ${Object.keys(CLIENT_AUTH).join(", ")}`,
    );
  else if (clientAuth.needsCa && !ca)
    problems.push(`tls_server_config: client_auth_type ${authType} needs client_ca_file`);
  const minVersion = typeof tls.min_version === "string" ? TLS_VERSIONS[tls.min_version] : undefined;
  if (tls.min_version !== undefined && !minVersion)
    problems.push(`tls_server_config.min_version: one of ${Object.keys(TLS_VERSIONS).join(", ")}`);
  if (!cert || !key || !clientAuth) return { users, headers };
  return {
    tls: {
      cert,
      key,
      ...(ca && { ca }),
      requestCert: clientAuth.requestCert,
      rejectUnauthorized: clientAuth.rejectUnauthorized,
      ...(minVersion && { minVersion }),
    },
    users,
    headers,
  };
}

function mapping(value: unknown, what: string, problems: string[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    problems.push(`${what} must be a mapping`);
    return {};
  }
  return value as Record<string, unknown>;
}
