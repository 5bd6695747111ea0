import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { proxyFromEnvironment } from "./proxy.ts";

const proxied = (server: string, env: Record<string, string>) =>
  proxyFromEnvironment(new URL(server), env)?.toString();

describe("the proxy client-go would use", () => {
  it("takes HTTPS_PROXY for https and HTTP_PROXY for http, upper case first, scheme defaulted", () => {
    const env = { HTTPS_PROXY: "secure.proxy:3128", https_proxy: "http://lower", HTTP_PROXY: "http://plain" };
    assert.equal(proxied("https://10.0.0.1:6443", env), "http://secure.proxy:3128/");
    assert.equal(proxied("http://10.0.0.1:8080", env), "http://plain/");
    assert.equal(proxied("https://10.0.0.1", { https_proxy: "http://lower" }), "http://lower/");
    assert.equal(proxied("https://10.0.0.1", {}), undefined);
  });

  // golang.org/x/net/http/httpproxy proxy_test.go UseProxyTests, each host on port 80.
  const noProxy =
    "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64";
  const useProxy: [string, boolean][] = [
    ["localhost", false],
    ["127.0.0.1", false],
    ["127.0.0.2", false],
    ["[::1]", false],
    ["[::2]", true],
    ["192.168.1.1", false],
    ["192.168.1.2", true],
    ["192.168.1.3", false],
    ["192.168.1.4", true],
    ["10.0.0.2", false],
    ["[2001:db8::52:0:1]", false],
    ["[2001:db8::52:0:2]", true],
    ["[2001:db8::52:0:3]", false],
    ["[2002:db8:a::123]", false],
    ["[fe80::424b:c8be:1643:a1b6]", true],
    ["barbaz.net", true],
    ["www.barbaz.net", false],
    ["foobar.com", false],
    ["www.foobar.com", false],
    ["foofoobar.com", true],
    ["baz.com", true],
    ["localhost.net", true],
    ["local.localhost", true],
    ["barbarbaz.net", true],
    ["wildcard.io", true],
    ["nested.wildcard.io", false],
    ["awildcard.io", true],
  ];
  for (const [host, expected] of useProxy) {
    it(`${expected ? "proxies" : "goes direct to"} ${host} with Go's NO_PROXY rules`, () => {
      const got = proxied(`http://${host}:80/`, { HTTP_PROXY: "http://proxy", NO_PROXY: noProxy });
      assert.equal(got, expected ? "http://proxy/" : undefined);
    });
  }

  it("goes direct everywhere with NO_PROXY=*, and ignores an invalid entry", () => {
    assert.equal(proxied("https://example.com", { HTTPS_PROXY: "http://p", NO_PROXY: "*" }), undefined);
    assert.equal(proxied("http://example.com", { HTTP_PROXY: "http://p", no_proxy: ":1" }), "http://p/");
  });

  it("goes direct to an IPv4-mapped loopback address", () => {
    assert.equal(proxied("https://[::ffff:127.0.0.1]:6443", { HTTPS_PROXY: "http://p" }), undefined);
  });
});
