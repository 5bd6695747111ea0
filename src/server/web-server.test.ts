import assert from "node:assert/strict";
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { before, describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { createCa, tempDir, type Issued, type TestCa } from "../../test/support/pki.ts";
import { http2Get, httpsGet, withWeb, type ClientResult, type RunningWeb } from "../../test/support/web.ts";
import { CLIENT_AUTH_TYPES, type ClientAuthType } from "./tls-options.ts";

interface Pki {
  readonly dir: string;
  readonly ca: TestCa;
  readonly server: Issued;
  /** Signed by the CA given as client_ca_file. */
  readonly trusted: Issued;
  /** Signed by a CA the server does not know. */
  readonly untrusted: Issued;
}

function createPki(): Pki {
  const dir = tempDir();
  const ca = createCa(dir, "ca");
  const other = createCa(dir, "other-ca");
  return {
    dir,
    ca,
    server: ca.issue("server", { sans: ["DNS:localhost", "IP:127.0.0.1"], usage: "serverAuth" }),
    trusted: ca.issue("client", {
      sans: ["DNS:scraper", "URI:spiffe://cluster/ns/monitoring/sa/prometheus"],
      usage: "clientAuth",
    }),
    untrusted: other.issue("intruder", { sans: ["DNS:scraper"], usage: "clientAuth" }),
  };
}

function tlsConfig(pki: Pki, lines: readonly string[] = []): string {
  return [
    "tls_server_config:",
    `  cert_file: ${pki.server.certFile}`,
    `  key_file: ${pki.server.keyFile}`,
    ...lines.map((line) => `  ${line}`),
  ].join("\n");
}

function served(result: ClientResult): boolean {
  return "status" in result && result.status === 200;
}

describe("TLS client certificates, as Go's crypto/tls decides them", () => {
  let pki: Pki;
  before(() => {
    pki = createPki();
  });

  // Go's ClientAuthType semantics: whether a certificate is asked for, required, verified.
  const expected: Record<ClientAuthType, { trusted: boolean; untrusted: boolean; none: boolean }> = {
    NoClientCert: { trusted: true, untrusted: true, none: true },
    RequestClientCert: { trusted: true, untrusted: true, none: true },
    RequireAnyClientCert: { trusted: true, untrusted: true, none: false },
    VerifyClientCertIfGiven: { trusted: true, untrusted: false, none: true },
    RequireAndVerifyClientCert: { trusted: true, untrusted: false, none: false },
  };
  for (const mode of CLIENT_AUTH_TYPES) {
    for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
      it(`${mode} over ${maxVersion}: a CA-signed cert, an untrusted one, none`, async (t) => {
        const ca = mode === "NoClientCert" ? [] : [`client_ca_file: ${pki.ca.certFile}`];
        await withWeb(pki.dir, tlsConfig(pki, [`client_auth_type: ${mode}`, ...ca]), async (web) => {
          const client = { ca: pki.ca.cert, maxVersion };
          const results = {
            trusted: await httpsGet(web.port, { ...client, cert: pki.trusted }),
            untrusted: await httpsGet(web.port, { ...client, cert: pki.untrusted }),
            none: await httpsGet(web.port, client),
          };
          t.diagnostic(
            JSON.stringify(
              Object.fromEntries(
                Object.entries(results).map(([k, r]) => [k, "error" in r ? r.error.split(":")[0] : r.status]),
              ),
            ),
          );
          assert.deepEqual(
            {
              trusted: served(results.trusted),
              untrusted: served(results.untrusted),
              none: served(results.none),
            },
            expected[mode],
          );
          for (const result of Object.values(results))
            assert.ok(served(result) || "error" in result, "a refused client gets no HTTP answer at all");
        });
      });
    }
  }

  it("RequireAndVerifyClientCert without a certificate fails the handshake itself", async () => {
    await withWeb(
      pki.dir,
      tlsConfig(pki, ["client_auth_type: RequireAndVerifyClientCert", `client_ca_file: ${pki.ca.certFile}`]),
      async (web) => {
        const result = await httpsGet(web.port, { ca: pki.ca.cert, maxVersion: "TLSv1.2" });
        assert.ok("error" in result);
        assert.match(result.error, /alert handshake failure/, "TLS 1.2: handshake_failure, as Go sends");
      },
    );
  });

  it("RequireClientCert is the old name of RequireAnyClientCert", async () => {
    await withWeb(pki.dir, tlsConfig(pki, ["client_auth_type: RequireClientCert"]), async (web) => {
      assert.ok(served(await httpsGet(web.port, { ca: pki.ca.cert, cert: pki.untrusted })));
      assert.ok(!served(await httpsGet(web.port, { ca: pki.ca.cert })));
    });
  });

  it("client_allowed_sans: the certificate must carry one of them, as Go spells SANs", async () => {
    const allowed = (sans: string) =>
      tlsConfig(pki, [
        "client_auth_type: RequireAndVerifyClientCert",
        `client_ca_file: ${pki.ca.certFile}`,
        `client_allowed_sans: ${sans}`,
      ]);
    const cases: [string, boolean][] = [
      ['["one", "scraper"]', true],
      ['["spiffe://cluster/ns/monitoring/sa/prometheus"]', true],
      ['["bad"]', false],
      ["[]", false],
    ];
    for (const [sans, ok] of cases) {
      await withWeb(pki.dir, allowed(sans), async (web) => {
        assert.equal(served(await httpsGet(web.port, { ca: pki.ca.cert, cert: pki.trusted })), ok, sans);
      });
    }
  });

  it("client_allowed_sans refuses a client without a certificate when one is requested, and is moot when none is", async () => {
    for (const [mode, ok] of [
      ["RequestClientCert", false],
      ["NoClientCert", true],
    ] as const) {
      await withWeb(
        pki.dir,
        tlsConfig(pki, [`client_auth_type: ${mode}`, "client_allowed_sans: [scraper]"]),
        async (web) => {
          assert.equal(served(await httpsGet(web.port, { ca: pki.ca.cert })), ok, mode);
        },
      );
    }
  });

  it("matches an IP SAN written as Go writes it (::1, not 0:0:0:0:0:0:0:1)", async () => {
    const ipClient = pki.ca.issue("ip-client", { sans: ["IP:::1"], usage: "clientAuth" });
    await withWeb(
      pki.dir,
      tlsConfig(pki, [
        "client_auth_type: RequireAndVerifyClientCert",
        `client_ca_file: ${pki.ca.certFile}`,
        'client_allowed_sans: ["::1"]',
      ]),
      async (web) => {
        assert.ok(served(await httpsGet(web.port, { ca: pki.ca.cert, cert: ipClient })));
      },
    );
  });
});

describe("TLS versions, cipher suites and curves, as Go applies them", () => {
  let pki: Pki;
  before(() => {
    pki = createPki();
  });

  const withTls = (lines: readonly string[], run: (web: RunningWeb) => Promise<void>) =>
    withWeb(pki.dir, tlsConfig(pki, lines), run);
  /** A TLS 1.2 client offering these suites, in this order. */
  const tls12 = (web: RunningWeb, ciphers: string) =>
    httpsGet(web.port, { ca: pki.ca.cert, maxVersion: "TLSv1.2", ciphers });

  it("serves TLS 1.2 and 1.3 by default, not 1.1", async () => {
    await withTls([], async (web) => {
      const tls13 = await httpsGet(web.port, { ca: pki.ca.cert });
      assert.ok("protocol" in tls13 && tls13.protocol === "TLSv1.3");
      const tls12 = await httpsGet(web.port, { ca: pki.ca.cert, maxVersion: "TLSv1.2" });
      assert.ok("protocol" in tls12 && tls12.protocol === "TLSv1.2");
      assert.ok(
        !served(
          await httpsGet(web.port, {
            ca: pki.ca.cert,
            maxVersion: "TLSv1.1",
            minVersion: "TLSv1",
            ciphers: "DEFAULT@SECLEVEL=0",
          }),
        ),
      );
    });
  });

  it("min_version and max_version bound the handshake", async () => {
    await withTls(["min_version: TLS13"], async (web) => {
      assert.ok(!served(await httpsGet(web.port, { ca: pki.ca.cert, maxVersion: "TLSv1.2" })));
    });
    await withTls(["max_version: TLS12"], async (web) => {
      const result = await httpsGet(web.port, { ca: pki.ca.cert });
      assert.ok("protocol" in result && result.protocol === "TLSv1.2");
    });
    await withTls(["min_version: TLS11", "max_version: TLS11"], async (web) => {
      const result = await httpsGet(web.port, {
        ca: pki.ca.cert,
        minVersion: "TLSv1",
        maxVersion: "TLSv1.1",
        ciphers: "DEFAULT@SECLEVEL=0",
      });
      assert.ok("protocol" in result && result.protocol === "TLSv1.1", JSON.stringify(result));
    });
  });

  it("offers Go's default TLS 1.2 suites only (no DHE, no CBC-SHA384 as OpenSSL's default has)", async () => {
    await withTls([], async (web) => {
      const dhe = await tls12(web, "ECDHE-ECDSA-AES256-SHA384");
      assert.ok(!served(dhe), "ECDHE-ECDSA-AES256-SHA384 is not among Go's suites");
      const cbc = await tls12(web, "ECDHE-ECDSA-AES128-SHA");
      assert.ok("cipher" in cbc && cbc.cipher === "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA");
    });
  });

  it("cipher_suites limits TLS 1.2; the server chooses in Go's order, whatever the list's order", async () => {
    const clientOrder = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
    for (const prefer of ["true", "false"]) {
      const suites = `cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]`;
      // Go ignores prefer_server_cipher_suites since 1.17 and puts AES-128-GCM first.
      await withTls([suites, "max_version: TLS12", `prefer_server_cipher_suites: ${prefer}`], async (web) => {
        const result = await httpsGet(web.port, { ca: pki.ca.cert, ciphers: clientOrder });
        assert.ok("cipher" in result && result.cipher === "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", prefer);
        assert.ok(
          !served(await httpsGet(web.port, { ca: pki.ca.cert, ciphers: "ECDHE-ECDSA-AES128-SHA" })),
          "not listed",
        );
      });
    }
  });

  it("gives ChaCha20 to a client that prefers it, as Go does", async () => {
    await withTls([], async (web) => {
      const chacha = await tls12(web, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256");
      assert.ok("cipher" in chacha && chacha.cipher === "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
      const aes = await tls12(
        web,
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
      );
      assert.ok(
        "cipher" in aes && aes.cipher === "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "an AES-first client gets Go's first AES suite",
      );
    });
  });

  it("cipher_suites does not touch TLS 1.3, as in Go", async () => {
    // Go's HTTP/2 server would refuse this list (no TLS 1.2 suite it requires): HTTP/1.1 only.
    const config = `${tlsConfig(pki, ["cipher_suites: [TLS_AES_128_GCM_SHA256]"])}\nhttp_server_config: { http2: false }`;
    await withWeb(pki.dir, config, async (web) => {
      const tls13 = await httpsGet(web.port, { ca: pki.ca.cert });
      assert.ok("protocol" in tls13 && tls13.protocol === "TLSv1.3");
      assert.ok(
        !served(await httpsGet(web.port, { ca: pki.ca.cert, maxVersion: "TLSv1.2" })),
        "no TLS 1.2 suite is left",
      );
    });
  });

  it("offers Go's default key exchange groups (with ML-KEM, without X448 or finite-field DH)", async () => {
    await withTls([], async (web) => {
      for (const group of ["X25519MLKEM768", "X25519", "P-256", "P-384", "P-521"])
        assert.ok(served(await httpsGet(web.port, { ca: pki.ca.cert, ecdhCurve: group })), group);
      for (const group of ["X448", "ffdhe2048"])
        assert.ok(!served(await httpsGet(web.port, { ca: pki.ca.cert, ecdhCurve: group })), group);
    });
  });

  it("curve_preferences limits the key exchange groups", async () => {
    await withTls(["curve_preferences: [CurveP521]"], async (web) => {
      assert.ok(served(await httpsGet(web.port, { ca: pki.ca.cert, ecdhCurve: "P-521" })));
      assert.ok(!served(await httpsGet(web.port, { ca: pki.ca.cert, ecdhCurve: "P-384" })));
    });
  });
});

describe("HTTP/2", () => {
  let pki: Pki;
  before(() => {
    pki = createPki();
  });

  it("serves HTTP/2 over TLS by default, and HTTP/1.1 to clients that ask for it", async () => {
    await withWeb(pki.dir, tlsConfig(pki), async (web) => {
      const h2 = await http2Get(web.port, { ca: pki.ca.cert, path: "/metrics" });
      assert.ok("status" in h2, JSON.stringify(h2));
      assert.equal(h2.status, 200);
      assert.equal(h2.alpn, "h2");
      assert.match(h2.body, /helm_drift_exporter_build_info/);
      const malformed = await http2Get(web.port, { ca: pki.ca.cert, path: "/api/v1/releases/%ZZ/x" });
      assert.ok("status" in malformed);
      assert.equal(malformed.status, 400, "the JSON error handler answers over HTTP/2 too");
      assert.deepEqual(JSON.parse(malformed.body), { error: "Failed to decode param '%ZZ'" });
      const h1 = await httpsGet(web.port, { ca: pki.ca.cert, path: "/metrics" });
      assert.ok("status" in h1 && h1.status === 200);
    });
  });

  it("holds HTTP/2 clients to the same client-certificate rules", async () => {
    await withWeb(
      pki.dir,
      tlsConfig(pki, ["client_auth_type: VerifyClientCertIfGiven", `client_ca_file: ${pki.ca.certFile}`]),
      async (web) => {
        const trusted = await http2Get(web.port, { ca: pki.ca.cert, cert: pki.trusted });
        assert.ok(
          "status" in trusted && trusted.status === 200 && trusted.alpn === "h2",
          JSON.stringify(trusted),
        );
        const untrusted = await http2Get(web.port, { ca: pki.ca.cert, cert: pki.untrusted });
        assert.ok("error" in untrusted, JSON.stringify(untrusted));
        assert.ok("status" in (await http2Get(web.port, { ca: pki.ca.cert })), "the server still serves");
      },
    );
  });

  it("ends an HTTP/2 connection on a cipher suite HTTP/2 forbids, as Go's server does", async () => {
    await withWeb(pki.dir, tlsConfig(pki), async (web) => {
      const result = await http2Get(web.port, {
        ca: pki.ca.cert,
        maxVersion: "TLSv1.2",
        ciphers: "ECDHE-ECDSA-AES128-SHA",
      });
      assert.ok("error" in result, JSON.stringify(result));
      assert.match(result.error, /GOAWAY 12|INADEQUATE_SECURITY/);
    });
  });

  it("http2: false serves HTTP/1.1 only", async () => {
    await withWeb(pki.dir, `${tlsConfig(pki)}\nhttp_server_config:\n  http2: false\n`, async (web) => {
      const h2 = await http2Get(web.port, { ca: pki.ca.cert });
      assert.ok(!("status" in h2 && h2.status === 200 && h2.alpn === "h2"), JSON.stringify(h2));
      assert.ok(served(await httpsGet(web.port, { ca: pki.ca.cert })));
    });
  });
});

describe("web config reload, as exporter-toolkit re-reads the file", () => {
  let pki: Pki;
  before(() => {
    pki = createPki();
  });

  /** Replaces a file the way a careful writer (or kubelet) does: a new file renamed over it. */
  function replace(file: string, content: Buffer | string): void {
    writeFileSync(`${file}.new`, content);
    renameSync(`${file}.new`, file);
  }

  it("serves a rotated certificate on the next connection, without a restart", async () => {
    const dir = tempDir();
    const cert = path.join(dir, "tls.crt");
    const key = path.join(dir, "tls.key");
    writeFileSync(cert, pki.server.cert);
    writeFileSync(key, pki.server.key);
    await withWeb(dir, `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n`, async (web) => {
      const first = await httpsGet(web.port, { ca: pki.ca.cert });
      assert.ok("serverCert" in first && first.serverCert === "server");
      const rotated = pki.ca.issue("server-rotated", { sans: ["DNS:localhost"], usage: "serverAuth" });
      replace(key, rotated.key);
      replace(cert, rotated.cert);
      const second = await httpsGet(web.port, { ca: pki.ca.cert });
      assert.ok("serverCert" in second && second.serverCert === "server-rotated", JSON.stringify(second));
    });
  });

  it("follows kubelet's symlink swap of a mounted Secret", async () => {
    const dir = tempDir();
    const version = (name: string, issued: Issued) => {
      mkdirSync(path.join(dir, name));
      writeFileSync(path.join(dir, name, "tls.crt"), issued.cert);
      writeFileSync(path.join(dir, name, "tls.key"), issued.key);
    };
    version("..v1", pki.server);
    symlinkSync("..v1", path.join(dir, "..data"));
    symlinkSync("..data/tls.crt", path.join(dir, "tls.crt"));
    symlinkSync("..data/tls.key", path.join(dir, "tls.key"));
    await withWeb(dir, `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n`, async (web) => {
      version("..v2", pki.ca.issue("server-v2", { sans: ["DNS:localhost"], usage: "serverAuth" }));
      symlinkSync("..v2", path.join(dir, "..data_tmp"));
      renameSync(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
      const result = await httpsGet(web.port, { ca: pki.ca.cert });
      assert.ok("serverCert" in result && result.serverCert === "server-v2", JSON.stringify(result));
    });
  });

  it("applies a changed client_auth_type and users to the next connection and request", async () => {
    const users = (list: string) => `\nbasic_auth_users:\n${list}`;
    await withWeb(pki.dir, tlsConfig(pki) + users(`  old: "${bcrypt.hashSync("pw", 4)}"`), async (web) => {
      const auth = { ca: pki.ca.cert, path: "/metrics" };
      const status = (result: ClientResult) => ("status" in result ? result.status : result.error);
      assert.equal(status(await httpsGet(web.port, { ...auth, auth: "old:pw" })), 200);
      replace(
        web.configFile,
        tlsConfig(pki, [
          "client_auth_type: RequireAndVerifyClientCert",
          `client_ca_file: ${pki.ca.certFile}`,
        ]) + users(`  new: "${bcrypt.hashSync("pw2", 4)}"`),
      );
      assert.ok(!served(await httpsGet(web.port, { ...auth, auth: "new:pw2" })), "no client certificate now");
      assert.equal(status(await httpsGet(web.port, { ...auth, cert: pki.trusted, auth: "old:pw" })), 401);
      assert.equal(status(await httpsGet(web.port, { ...auth, cert: pki.trusted, auth: "new:pw2" })), 200);
    });
  });

  it("applies changed users to the next request on a kept-alive connection", async () => {
    const users = (user: string, password: string) =>
      `basic_auth_users:\n  ${user}: "${bcrypt.hashSync(password, 4)}"\n`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await withWeb(tempDir(), users("old", "pw"), async (web) => {
      const get = (auth: string) =>
        new Promise<{ status: number; socket: unknown }>((resolve, reject) => {
          http
            .get(`${web.url}/metrics`, { agent, auth }, (response) => {
              response.resume();
              response.on("end", () => {
                resolve({ status: response.statusCode ?? 0, socket: response.socket });
              });
            })
            .on("error", reject);
        });
      const first = await get("old:pw");
      assert.equal(first.status, 200);
      replace(web.configFile, users("new", "pw2"));
      const second = await get("old:pw");
      assert.equal(second.socket, first.socket, "the same connection");
      assert.equal(second.status, 401);
      assert.equal((await get("new:pw2")).status, 200);
      agent.destroy();
    });
  });

  it("keeps the last good config when the new file is broken, logs it once, and takes the fixed one", async () => {
    const good = `${tlsConfig(pki)}\nbasic_auth_users:\n  prom: "${bcrypt.hashSync("pw", 4)}"\n`;
    await withWeb(pki.dir, good, async (web) => {
      const scrape = { ca: pki.ca.cert, path: "/metrics", auth: "prom:pw" };
      replace(web.configFile, `${good}  unknown_key: 1\n: not yaml [`);
      for (let i = 0; i < 3; i++)
        assert.ok(served(await httpsGet(web.port, scrape)), "still served with the last good config");
      const failures = web
        .logs()
        .filter((line) => line.msg === "web config not reloaded; the last good one stays in effect");
      assert.equal(failures.length, 1, "logged once, not per request");
      replace(
        web.configFile,
        `${tlsConfig(pki)}\nbasic_auth_users:\n  prom: "${bcrypt.hashSync("other", 4)}"\n`,
      );
      const refused = await httpsGet(web.port, scrape);
      assert.ok("status" in refused && refused.status === 401, "the fixed file's users apply");
      assert.ok(web.logs().some((line) => line.msg === "web config reloaded"));
    });
  });

  it("keeps TLS on when the new file turns it off (that needs a restart)", async () => {
    await withWeb(pki.dir, tlsConfig(pki), async (web) => {
      replace(web.configFile, "basic_auth_users: {}\n");
      assert.ok(served(await httpsGet(web.port, { ca: pki.ca.cert })));
      assert.ok(
        web.logs().some((line) => String(line.err).includes("TLS cannot be turned off without a restart")),
      );
    });
  });
});
