/**
 * The client-certificate decisions Go's crypto/tls makes during the handshake and Node's TLS
 * options cannot express: checked as soon as a handshake completes, before a request is read.
 */
import { isIPv6 } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  requiresClientCert,
  verifiesClientCert,
  requestsClientCert,
  type TlsSettings,
} from "./tls-options.ts";

/** Why Go would have refused this client, or undefined if it would not. */
export function clientRefusal(socket: TLSSocket, settings: TlsSettings): string | undefined {
  if (!requestsClientCert(settings.clientAuth)) return undefined;
  const certificate = socket.getPeerX509Certificate();
  if (!certificate) {
    if (requiresClientCert(settings.clientAuth)) return "client didn't provide a certificate";
    // exporter-toolkit's SAN check runs (and fails) on an empty chain too.
    return settings.clientAllowedSans ? "client didn't provide a certificate with an allowed SAN" : undefined;
  }
  if (verifiesClientCert(settings.clientAuth) && !socket.authorized)
    return `client certificate not verified: ${String(socket.authorizationError)}`;
  const allowed = settings.clientAllowedSans;
  if (allowed && !subjectAltNames(certificate.subjectAltName).some((san) => allowed.includes(san)))
    return "could not find allowed SANs in client cert";
  return undefined;
}

/**
 * The DNS, email, IP and URI SANs of a certificate as Go's x509 spells them (what
 * client_allowed_sans is compared with), from Node's `subjectAltName` text: entries are joined
 * by ", ", and a value holding special characters is a JSON string.
 */
export function subjectAltNames(text: string | undefined): string[] {
  const names: string[] = [];
  let rest = text ?? "";
  while (rest !== "") {
    const colon = rest.indexOf(":");
    if (colon < 0) break;
    const type = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
    let value: string;
    if (rest.startsWith('"')) {
      const end = closingQuote(rest);
      value = JSON.parse(rest.slice(0, end + 1)) as string;
      rest = rest.slice(end + 1);
    } else {
      const end = rest.indexOf(", ");
      value = end < 0 ? rest : rest.slice(0, end);
      rest = end < 0 ? "" : rest.slice(end);
    }
    rest = rest.startsWith(", ") ? rest.slice(2) : rest;
    if (type === "DNS" || type === "email" || type === "URI") names.push(value);
    else if (type === "IP Address") names.push(goIpText(value));
  }
  return names;
}

function closingQuote(text: string): number {
  for (let index = 1; index < text.length; index++) {
    if (text[index] === "\\") index++;
    else if (text[index] === '"') return index;
  }
  return text.length - 1;
}

/**
 * Go's net.IP String(): IPv4 (also IPv4-mapped IPv6) dotted, IPv6 in RFC 5952 form; Node
 * prints IPv6 SANs with every group (`2001:DB8:0:0:0:0:0:1`).
 */
export function goIpText(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const groups = expandIpv6(ip);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  // The first longest run of two or more zero groups becomes "::".
  let best = { start: -1, length: 1 };
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > best.length) best = { start, length: end - start };
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

function expandIpv6(ip: string): number[] {
  const [head = "", tail] = ip.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
