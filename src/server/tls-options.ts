/**
 * Go crypto/tls settings, as exporter-toolkit names them, translated to Node's TLS server options
 * so a handshake here accepts and refuses what node_exporter's does.
 */
import { constants } from "node:crypto";
import { getCACertificates, type SecureVersion, type TlsOptions } from "node:tls";

export const CLIENT_AUTH_TYPES = [
  "NoClientCert",
  "RequestClientCert",
  "RequireAnyClientCert",
  "VerifyClientCertIfGiven",
  "RequireAndVerifyClientCert",
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  TLS10: "TLSv1",
  TLS11: "TLSv1.1",
  TLS12: "TLSv1.2",
  TLS13: "TLSv1.3",
};
export type TlsVersionName = keyof typeof TLS_VERSIONS;
const VERSION_ORDER: readonly SecureVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/**
 * Go's tls.CipherSuites() (the names exporter-toolkit accepts), with the OpenSSL name of each
 * TLS 1.0-1.2 suite. Go applies the list to TLS 1.0-1.2 only: the TLS 1.3 names are accepted
 * and have no effect (null), and TLS 1.3 always offers its three suites.
 */
export const GO_CIPHER_SUITES: Readonly<Record<string, string | null>> = {
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
};

/**
 * Go's default TLS 1.0-1.2 suites, in its preference order (crypto/tls
 * cipherSuitesPreferenceOrder); every configurable TLS 1.2 name is among them.
 */
const GO_DEFAULT_CIPHER_SUITES = [
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
  "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
  "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];
/** Go's TLS 1.3 suites, in its order; never configurable in Go. */
const GO_TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];

/** Go's http2 server refuses to start with a TLS 1.2 list that has neither of these. */
export const HTTP2_REQUIRED_CIPHER_SUITES = [
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
  "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
];

/**
 * Go's default key exchange groups (crypto/tls defaultCurvePreferences) for a module that
 * declares go 1.24 or 1.25, as exporters do today; Go 1.26 adds two more ML-KEM hybrids only
 * for modules that declare go 1.26.
 */
const GO_DEFAULT_GROUPS = ["X25519MLKEM768", "X25519", "P-256", "P-384", "P-521"];

/** exporter-toolkit's curve names, as OpenSSL groups. */
export const GO_CURVES: Readonly<Record<string, string>> = {
  CurveP256: "P-256",
  CurveP384: "P-384",
  CurveP521: "P-521",
  X25519: "X25519",
};

export interface TlsSettings {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** PEM; without it, the verifying modes verify against the system's CAs, as Go does. */
  readonly clientCa?: Buffer;
  readonly clientAuth: ClientAuthType;
  /** When set, a requested client certificate must carry one of these SANs. */
  readonly clientAllowedSans?: readonly string[];
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** Go names; undefined: Go's default list. */
  readonly cipherSuites?: readonly string[];
  /** Go names; undefined: Go's default groups. */
  readonly curvePreferences?: readonly string[];
}

export function versionBelow(version: SecureVersion, than: SecureVersion): boolean {
  return VERSION_ORDER.indexOf(version) < VERSION_ORDER.indexOf(than);
}

/** Does the mode ask the client for a certificate at all? */
export function requestsClientCert(mode: ClientAuthType): boolean {
  return mode !== "NoClientCert";
}

/** Must the client present a certificate? */
export function requiresClientCert(mode: ClientAuthType): boolean {
  return mode === "RequireAnyClientCert" || mode === "RequireAndVerifyClientCert";
}

/** Is a presented certificate verified against the client CAs? */
export function verifiesClientCert(mode: ClientAuthType): boolean {
  return mode === "VerifyClientCertIfGiven" || mode === "RequireAndVerifyClientCert";
}

/**
 * Node's options for these settings. What OpenSSL cannot decide during the handshake (a
 * certificate required but not verified, one verified only if given, the allowed SANs) is
 * decided right after it by ./client-auth.ts; OpenSSL itself refuses a missing certificate in
 * RequireAndVerifyClientCert, and an unverified one there is refused by Node.
 */
export function serverTlsOptions(settings: TlsSettings): TlsOptions {
  // Go picks by its own order among the suites allowed, whatever the order of cipher_suites.
  const configured = settings.cipherSuites;
  const tls12 = GO_DEFAULT_CIPHER_SUITES.filter((name) => !configured || configured.includes(name))
    .map((name) => GO_CIPHER_SUITES[name])
    .filter((name) => typeof name === "string");
  const ciphers = [...GO_TLS13_SUITES, ...tls12];
  // OpenSSL's default security level refuses TLS 1.0 and 1.1 handshakes outright; Go serves
  // them when min_version asks for them.
  if (versionBelow(settings.minVersion, "TLSv1.2")) ciphers.push("@SECLEVEL=0");
  const ca = settings.clientCa ?? (verifiesClientCert(settings.clientAuth) ? systemCa() : undefined);
  return {
    cert: settings.cert,
    key: settings.key,
    ...(ca && { ca }),
    requestCert: requestsClientCert(settings.clientAuth),
    rejectUnauthorized: settings.clientAuth === "RequireAndVerifyClientCert",
    minVersion: settings.minVersion,
    maxVersion: settings.maxVersion,
    ciphers: ciphers.join(":"),
    // Go (since 1.17) always chooses, in that order, except that a client that puts ChaCha20
    // first gets ChaCha20: OpenSSL's PRIORITIZE_CHACHA. prefer_server_cipher_suites is ignored.
    honorCipherOrder: true,
    ecdhCurve: (settings.curvePreferences?.map((name) => GO_CURVES[name] ?? name) ?? GO_DEFAULT_GROUPS).join(
      ":",
    ),
    // Go's TLS server never renegotiates; a client certificate is only looked at once.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_PRIORITIZE_CHACHA,
  };
}

function systemCa(): string[] {
  return getCACertificates("system");
}
