/**
 * Which proxy a connection to the API server goes through, decided as client-go decides it:
 * the cluster's `proxy-url` if set, else the environment as Go's net/http reads it
 * (golang.org/x/net/http/httpproxy): HTTPS_PROXY for an https server, HTTP_PROXY for http,
 * the upper-case name first, and never for localhost, a loopback address or a NO_PROXY match.
 */
import net from "node:net";

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

const DEFAULT_PORTS: Readonly<Record<string, string>> = { "http:": "80", "https:": "443" };

const firstSet = (env: ProxyEnv, ...names: string[]): string => {
  for (const name of names) {
    const value = env[name];
    if (value) return value;
  }
  return "";
};

/** Go's parseProxy: a value without a scheme (`proxy:3128`) means http://. */
function parseProxy(value: string): URL | undefined {
  try {
    const url = new URL(value);
    if (url.host !== "") return url;
  } catch {
    // not absolute: try as host[:port]
  }
  try {
    return new URL(`http://${value}`);
  } catch {
    return undefined; // Go ignores a proxy it cannot parse
  }
}

/** The proxy from the environment for `server`, or undefined for a direct connection. */
export function proxyFromEnvironment(server: URL, env: ProxyEnv = process.env): URL | undefined {
  const value =
    server.protocol === "https:"
      ? firstSet(env, "HTTPS_PROXY", "https_proxy")
      : server.protocol === "http:"
        ? firstSet(env, "HTTP_PROXY", "http_proxy")
        : "";
  const proxy = value ? parseProxy(value) : undefined;
  if (!proxy) return undefined;
  return useProxy(server, firstSet(env, "NO_PROXY", "no_proxy")) ? proxy : undefined;
}

const unbracket = (host: string) => (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host);

function useProxy(server: URL, noProxy: string): boolean {
  const host = unbracket(server.hostname).toLowerCase();
  const port = server.port !== "" ? server.port : (DEFAULT_PORTS[server.protocol] ?? "");
  if (host === "localhost") return false;
  const ipVersion = net.isIP(host);
  if (ipVersion !== 0 && isLoopback(host, ipVersion)) return false;
  for (const raw of noProxy.split(",")) {
    const rule = raw.trim().toLowerCase();
    if (rule === "") continue;
    if (rule === "*") return false;
    if (matches(rule, host, port, ipVersion)) return false;
  }
  return true;
}

function isLoopback(ip: string, version: number): boolean {
  // WHATWG URLs write an IPv4-mapped address in hex: [::ffff:127.0.0.1] is ::ffff:7f00:1.
  if (version === 6) return ip === "::1" || /^::ffff:7f[0-9a-f]{2}:/.test(ip) || ip.startsWith("::ffff:127.");
  return ip.startsWith("127.");
}

/** One NO_PROXY entry: a CIDR, an IP (optionally with a port), or a domain and its subdomains. */
function matches(rule: string, host: string, port: string, ipVersion: number): boolean {
  const slash = rule.indexOf("/");
  if (slash >= 0) {
    const network = rule.slice(0, slash);
    const bits = rule.slice(slash + 1);
    const family = net.isIP(network);
    if (family === 0 || !/^\d+$/.test(bits)) return false; // not a CIDR: Go then reads it as a host, which never matches a "/"
    if (ipVersion === 0) return false;
    const list = new net.BlockList();
    list.addSubnet(network, Number(bits), family === 6 ? "ipv6" : "ipv4");
    return list.check(host, ipVersion === 6 ? "ipv6" : "ipv4");
  }
  const { ruleHost, rulePort } = splitHostPort(rule);
  if (ruleHost === "") return false;
  const portMatches = rulePort === "" || rulePort === port;
  if (net.isIP(ruleHost) !== 0) return ipVersion !== 0 && sameIp(ruleHost, host) && portMatches;
  if (ipVersion !== 0) return false; // a domain rule never matches an IP
  const bare = ruleHost.startsWith("*.") ? ruleHost.slice(1) : ruleHost;
  const matchHost = !bare.startsWith(".");
  const suffix = matchHost ? `.${bare}` : bare;
  return (host.endsWith(suffix) || (matchHost && host === bare)) && portMatches;
}

/** Go's net.SplitHostPort, falling back to the whole rule as a host. */
function splitHostPort(rule: string): { ruleHost: string; rulePort: string } {
  const bracketed = /^\[([^\]]*)\]:(\d*)$/.exec(rule);
  if (bracketed) return { ruleHost: bracketed[1] ?? "", rulePort: bracketed[2] ?? "" };
  const colon = rule.lastIndexOf(":");
  if (colon >= 0 && rule.indexOf(":") === colon)
    return { ruleHost: rule.slice(0, colon), rulePort: rule.slice(colon + 1) };
  return { ruleHost: unbracket(rule), rulePort: "" };
}

function sameIp(a: string, b: string): boolean {
  const list = new net.BlockList();
  const family = net.isIP(a) === 6 ? "ipv6" : "ipv4";
  list.addAddress(a, family);
  return list.check(b, net.isIP(b) === 6 ? "ipv6" : "ipv4");
}
