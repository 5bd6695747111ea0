import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import bcrypt from "bcryptjs";
import { ConfigError } from "../config/config.ts";
import { createCa, tempDir, type Issued, type TestCa } from "../../test/support/pki.ts";
import { parseGoDuration } from "./go-yaml.ts";
import { loadWebConfig, WebConfigError, type WebConfig } from "./web-config.ts";

const HASH = bcrypt.hashSync("s3cret", 4);
const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

describe("web config file", () => {
  let dir: string;
  let ca: TestCa;
  let server: Issued;
  before(() => {
    dir = tempDir("hde-webcfg-");
    ca = createCa(dir, "ca");
    server = ca.issue("server", { sans: ["DNS:localhost"], usage: "serverAuth" });
  });

  let count = 0;
  const write = (text: string): string => {
    const file = path.join(dir, `web-${String(count++)}.yml`);
    writeFileSync(file, text);
    return file;
  };
  const load = (text: string): WebConfig => loadWebConfig(write(text));
  const problems = (text: string): string => {
    try {
      load(text);
    } catch (error) {
      assert.ok(error instanceof WebConfigError);
      return error.message;
    }
    assert.fail("expected a WebConfigError");
  };
  const tls = (...lines: string[]) =>
    [
      "tls_server_config:",
      "  cert_file: server.crt",
      "  key_file: server.key",
      ...lines.map((line) => `  ${line}`),
    ].join("\n");

  it("reads users, headers, and TLS files relative to the config file, with exporter-toolkit's defaults", () => {
    const config = load(
      `${tls()}\nbasic_auth_users:\n  prom: "${HASH}"\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
    );
    assert.equal(config.users.get("prom"), HASH);
    assert.deepEqual(config.headers, { "X-Frame-Options": "deny" });
    assert.equal(config.http2, true);
    assert.equal(config.rateLimit, undefined);
    assert.deepEqual(config.tls?.cert, server.cert);
    assert.equal(config.tls.clientAuth, "NoClientCert");
    assert.equal(config.tls.minVersion, "TLSv1.2");
    assert.equal(config.tls.maxVersion, "TLSv1.3");
    assert.deepEqual(config.files.slice(1), [server.certFile, server.keyFile]);
  });

  it("is plain HTTP without any of the keys that turn TLS on", () => {
    const config = load(
      "tls_server_config:\n  min_version: TLS13\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
    );
    assert.equal(config.tls, undefined);
    assert.deepEqual(load("").users, new Map());
  });

  it("accepts every file exporter-toolkit's tests accept", () => {
    const inlineCert = server.cert.toString("utf8").replace(/\n/g, "\n    ");
    const inlineKey = server.key.toString("utf8").replace(/\n/g, "\n    ");
    const good = {
      allCiphers: tls(
        "client_auth_type: VerifyClientCertIfGiven",
        `cipher_suites: [${[
          "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
          "TLS_AES_128_GCM_SHA256",
          "TLS_AES_256_GCM_SHA384",
          "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
          "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        ].join(", ")}]`,
      ),
      allCurves: tls(
        "client_auth_type: VerifyClientCertIfGiven",
        "curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]",
      ),
      noHTTP2: `${tls("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]", "max_version: TLS12")}\nhttp_server_config:\n  http2: false\n`,
      noOrder: tls(
        "cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]",
        "prefer_server_cipher_suites: false",
      ),
      requireAndVerifyWithoutCa: tls("client_auth_type: RequireAndVerifyClientCert"),
      requireAny: tls("client_auth_type: RequireAnyClientCert"),
      inline: `tls_server_config:\n  cert: |\n    ${inlineCert}\n  key: |\n    ${inlineKey}\n  client_auth_type: VerifyClientCertIfGiven\n`,
      inlineKey: `tls_server_config:\n  cert_file: server.crt\n  key: |\n    ${inlineKey}\n`,
      headers: `http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000; includeSubDomains\n    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n    Content-Security-Policy: "default-src 'self' *.test.example.net"\n`,
      users: `basic_auth_users:\n  alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby\n  bob: $2y$18$4VeFDzXIoPHKnKTU3O3GH.N.vZu06CVqczYZ8WvfzrddFU6tGqjR.\n`,
      rateLimitOff: "rate_limit:\n  interval: 0\n  burst: 0\n",
      rateLimit: 'rate_limit:\n  interval: "1s"\n  burst: 0\n',
      empty: "",
    };
    for (const [name, text] of Object.entries(good)) assert.doesNotThrow(() => load(text), name);
    assert.equal(
      load(good.requireAndVerifyWithoutCa).tls?.clientCa,
      undefined,
      "verified against the system CAs, as Go",
    );
    assert.equal(load(good.headers).headers["X-XSS-Protection"], "1");
    assert.deepEqual(load(good.rateLimit).rateLimit, { intervalMs: 1000, burst: 0 });
    assert.equal(load(good.rateLimitOff).rateLimit, undefined);
  });

  it("refuses every file exporter-toolkit refuses, naming the key", () => {
    const bad: [string, RegExp][] = [
      ["hWkNKCp3fvIx3jKnsaBI\nTuEjdwNS8A2vYdFbiKqr\n", /the file: must be a mapping/],
      ['tls_server_config:\n  cert_filse: "server.crt"\n', /tls_server_config\.cert_filse: unknown key/],
      [tls().replace("cert_file: server.crt", 'cert_file: ""'), /missing one of cert or cert_file/],
      [tls().replace("cert_file: server.crt", 'cert: ""'), /missing one of cert or cert_file/],
      [tls().replace("key_file: server.key", 'key_file: ""'), /missing one of key or key_file/],
      [tls().replace("key_file: server.key", 'key: ""'), /missing one of key or key_file/],
      [
        'tls_server_config:\n  cert_file: ""\n  key_file: ""\n  client_auth_type: "x"\n',
        /missing one of cert or cert_file[\s\S]*invalid ClientAuth "x"/,
      ],
      [tls().replace("server.crt", "somefile"), /tls_server_config\.cert_file: cannot read .*somefile/],
      [tls().replace("server.key", "somefile"), /tls_server_config\.key_file: cannot read .*somefile/],
      [tls("client_ca_file: /dev/null"), /client CAs have been configured without a client_auth_type/],
      [
        tls("client_auth_type: RequireAndVerifyClientCert", "client_ca_file: somefile"),
        /tls_server_config\.client_ca_file: cannot read/,
      ],
      [`${tls()}\nbasic_auth_users:\n  john: doe\n`, /basic_auth_users\.john: not a bcrypt hash/],
      [
        tls("cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048]"),
        /tls_server_config\.cipher_suites\[0\]: unknown cipher/,
      ],
      [tls("cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]"), /unknown cipher "TLS_RSA_WITH_AES_128_CBC_SHA"/],
      [tls("curve_preferences: [CurveP257]"), /tls_server_config\.curve_preferences\[0\]: unknown curve/],
      [tls("min_version: TLS111"), /tls_server_config\.min_version: unknown TLS version "TLS111"/],
      [
        tls("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]", "max_version: TLS12"),
        /HTTP\/2 needs TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256/,
      ],
      [
        "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
        /headers\.X-Content-Type-Options: invalid value "sniff"/,
      ],
      [
        "http_server_config:\n  headers:\n    X-Frame-Options: foo\n",
        /headers\.X-Frame-Options: invalid value "foo"/,
      ],
      [
        "http_server_config:\n  headers:\n    Content-Type: foo\n",
        /HTTP header "Content-Type" can not be configured/,
      ],
    ];
    for (const [text, expected] of bad) assert.match(problems(text), expected, text);
  });

  it("names the full path of every unknown key, and reports all problems at once", () => {
    const text = problems(
      `${tls("foo: 1")}\nhttp_server_config:\n  http3: true\nrate_limit:\n  per: 1\nbasic_auth_user: {}\nextra: 1\n`,
    );
    for (const key of [
      "tls_server_config.foo",
      "http_server_config.http3",
      "rate_limit.per",
      "basic_auth_user",
      "extra",
    ])
      assert.match(text, new RegExp(`: ${key.replace(/\./g, "\\.")}: unknown key`), key);
    assert.match(text, /^invalid configuration:\n {2}--web\.config\.file .*web-\d+\.yml: /);
  });

  it("reads YAML as Go's yaml.v2 does: 1.1 booleans, scalars as written, repeated keys refused", () => {
    assert.equal(load("http_server_config:\n  http2: no\n").http2, false);
    assert.equal(load("http_server_config:\n  http2: off\n").http2, false);
    assert.doesNotThrow(() => load(tls("prefer_server_cipher_suites: yes")));
    assert.match(
      problems(tls("prefer_server_cipher_suites: 1")),
      /prefer_server_cipher_suites: must be true or false/,
    );
    assert.match(
      problems('http_server_config:\n  http2: "false"\n'),
      /http_server_config\.http2: must be true or false/,
    );
    assert.equal(
      load("http_server_config:\n  headers:\n    X-XSS-Protection: 1.0\n").headers["X-XSS-Protection"],
      "1.0",
    );
    assert.match(problems(`basic_auth_users:\n  a: "${HASH}"\n  a: "${HASH}"\n`), /not valid YAML/);
    assert.match(problems("tls_server_config: [cert_file]\n"), /tls_server_config: must be a mapping/);
  });

  it("refuses what could never serve, where exporter-toolkit would fail every handshake instead", () => {
    assert.match(
      problems(tls("min_version: TLS13", "max_version: TLS12")),
      /min_version is above max_version/,
    );
    assert.match(
      problems(tls("client_auth_type: VerifyClientCertIfGiven", "client_ca_file: server.key")),
      /client_ca_file holds no PEM certificate/,
    );
    assert.match(problems(tls().replace("server.key", "ca.key")), /cannot load the certificate and key/);
    assert.match(
      problems('http_server_config:\n  headers:\n    Content-Security-Policy: "a\\nb"\n'),
      /not allowed in an HTTP header/,
    );
  });

  it("is a configuration error: the CLI prints it as plain text and exits 2", () => {
    const file = write(`${tls("foo: 1")}\n`);
    const run = spawnSync(
      process.execPath,
      [MAIN, "serve", "--web.config.file", file, "--kubeconfig", path.join(dir, "none")],
      {
        encoding: "utf8",
        // Only bounds a hang (spawnSync blocks the runner's own timeout): a busy machine may be slow.
        timeout: 5 * 60_000,
      },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      `helm-drift-exporter: invalid configuration:\n  --web.config.file ${file}: tls_server_config.foo: unknown key\n`,
    );
    assert.ok(new WebConfigError(file, ["x"]) instanceof ConfigError);
  });
});

describe("Go durations", () => {
  it("parses what time.ParseDuration parses, and nothing else", () => {
    const cases: [string, number | undefined][] = [
      ["1s", 1e9],
      ["1m30s", 90e9],
      ["1.5h", 5400e9],
      ["500ms", 5e8],
      ["2us", 2000],
      ["2µs", 2000],
      ["-1s", -1e9],
      ["0", 0],
      [".5s", 5e8],
      ["1", undefined],
      ["", undefined],
      ["1d", undefined],
      ["s", undefined],
      ["1.s", 1e9],
      ["1..5s", undefined],
    ];
    for (const [text, expected] of cases) assert.equal(parseGoDuration(text), expected, text);
  });
});
