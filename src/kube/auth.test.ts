import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import type https from "node:https";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, it } from "node:test";
import { stringify } from "yaml";
import { loadAuth, type Auth, type AuthReader } from "./auth.ts";

const CA = "CA FROM FILE";

/** Sets environment variables (undefined: unset) and returns what restores them; process.env itself stays. */
function setEnv(values: Record<string, string | undefined>): () => void {
  const before = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const set = (entries: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  };
  set(values);
  return () => {
    set(before);
  };
}
const b64 = (value: string) => Buffer.from(value).toString("base64");

interface Files {
  readonly dir: string;
  readonly file: string;
  /** Where the exec plugin leaves a mark when client-node runs it. */
  readonly marker: string;
}

/** An exec credential plugin: a script that marks that it ran and prints a token. */
function writePlugin(dir: string, marker: string): void {
  const script = path.join(dir, "plugin.sh");
  const credential = JSON.stringify({
    apiVersion: "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    status: { token: "token-from-exec" },
  });
  writeFileSync(script, `#!/bin/sh\necho ran > '${marker}'\nprintf '%s' '${credential}'\n`);
  chmodSync(script, 0o755);
}

/** A kubeconfig with context "main" (cluster c, user u) and "second" (cluster other). */
function kubeconfig(
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
  edit: (yaml: string) => string = (yaml) => yaml,
): Files {
  const dir = mkdtempSync(path.join(os.tmpdir(), "hde-auth-"));
  writeFileSync(path.join(dir, "ca.crt"), CA);
  writeFileSync(path.join(dir, "token"), "token-from-file\n");
  writeFileSync(path.join(dir, "client.crt"), "CERT FROM FILE");
  writeFileSync(path.join(dir, "client.key"), "KEY FROM FILE");
  const marker = path.join(dir, "exec-ran");
  writePlugin(dir, marker);
  const file = path.join(dir, "config");
  const document = {
    apiVersion: "v1",
    kind: "Config",
    "current-context": "main",
    clusters: [
      {
        name: "c",
        cluster: { server: "https://127.0.0.1:6443", "certificate-authority": "ca.crt", ...cluster },
      },
      { name: "other", cluster: { server: "https://10.0.0.1:443" } },
    ],
    users: [{ name: "u", user }],
    contexts: [
      { name: "main", context: { cluster: "c", user: "u" } },
      { name: "second", context: { cluster: "other", user: "u" } },
    ],
  };
  writeFileSync(file, edit(stringify(document)));
  return { dir, file, marker };
}

/** What a request would carry: the fields the parity table compares. */
interface View {
  readonly server: string | undefined;
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly servername: string | undefined;
  readonly rejectUnauthorized: boolean | undefined;
  /** Basic auth, as client-node puts it on the options. */
  readonly basic: string | undefined;
  readonly headers: Readonly<Record<string, unknown>>;
}

/** TLS material as text: the fast reader puts Buffers, client-node's exec credentials strings. */
function asText(value: https.RequestOptions["key"]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" || Buffer.isBuffer(value)) return value.toString();
  throw new Error("TLS material in a form neither reader produces");
}

async function viewOf(server: string | undefined, apply: (o: https.RequestOptions) => Promise<void>) {
  const options: https.RequestOptions = { headers: { Accept: "application/json" } };
  await apply(options);
  const headers = { ...(options.headers as Record<string, unknown>) };
  delete headers.Accept;
  return {
    server,
    ca: asText(options.ca),
    cert: asText(options.cert),
    key: asText(options.key),
    servername: options.servername,
    rejectUnauthorized: options.rejectUnauthorized,
    basic: options.auth ?? undefined,
    headers,
  } satisfies View;
}

const viewAuth = (auth: Auth) => viewOf(auth.server, (options) => auth.apply(options));

/** @kubernetes/client-node on its own, reading the file itself: the library the fast path is compared with. */
async function clientNodeAlone(file: string): Promise<View> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return viewOf(kc.getCurrentCluster()?.server, (options) => kc.applyToHTTPSOptions(options));
}

const expectedView = (overrides: Partial<View>): View => ({
  server: "https://127.0.0.1:6443",
  ca: CA,
  cert: undefined,
  key: undefined,
  servername: undefined,
  rejectUnauthorized: undefined,
  basic: undefined,
  headers: {},
  ...overrides,
});

interface ParityCase {
  readonly name: string;
  readonly user: Record<string, unknown>;
  readonly cluster?: Record<string, unknown>;
  readonly edit?: (yaml: string) => string;
  /** The reader loadAuth must choose. */
  readonly reader: AuthReader;
  /** What kubectl (client-go) sends for this kubeconfig. */
  readonly expected: Partial<View>;
  /** Fields client-node alone gets wrong: why its reading is never used for them. */
  readonly clientNodeDiffers?: readonly (keyof View)[];
  /** client-node alone refuses this kubeconfig, with this error. */
  readonly clientNodeRefuses?: RegExp;
  /** The exec plugin must (not) have run. */
  readonly execRuns?: boolean;
}

const execPlugin = {
  apiVersion: "client.authentication.k8s.io/v1",
  command: "./plugin.sh",
  interactiveMode: "Never",
};

/** The headers client-go sends for `impersonation`, besides Authorization. */
const impersonationHeaders = {
  "Impersonate-User": "jane",
  "Impersonate-Uid": "uid-1",
  "Impersonate-Group": ["devs", "ops"],
  "Impersonate-Extra-scopes": ["view", "edit"],
  "Impersonate-Extra-example.com%2Fteam%20name": ["a"],
};

const impersonation = {
  as: "jane",
  "as-uid": "uid-1",
  "as-groups": ["devs", "ops"],
  "as-user-extra": { scopes: ["view", "edit"], "example.com/team name": ["a"] },
};

const parityCases: readonly ParityCase[] = [
  {
    name: "a token, and a CA file relative to the kubeconfig",
    user: { token: "abc" },
    reader: "kubeconfig",
    expected: { headers: { Authorization: "Bearer abc" } },
  },
  {
    name: "client certificate and key files, CA data and tls-server-name",
    user: { "client-certificate": "client.crt", "client-key": "client.key" },
    cluster: {
      "certificate-authority": null,
      "certificate-authority-data": b64("CA DATA"),
      "tls-server-name": "api.internal",
    },
    reader: "kubeconfig",
    expected: { ca: "CA DATA", cert: "CERT FROM FILE", key: "KEY FROM FILE", servername: "api.internal" },
  },
  {
    name: "a token file, with certificate data",
    user: { tokenFile: "token", "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") },
    reader: "kubeconfig",
    expected: { cert: "CERT", key: "KEY", headers: { Authorization: "Bearer token-from-file" } },
    clientNodeDiffers: ["headers"], // client-node reads `token-file`, a key client-go does not have
  },
  {
    name: "a token file wins over a token, as in client-go's bearer round tripper",
    user: { token: "static", tokenFile: "token" },
    reader: "kubeconfig",
    expected: { headers: { Authorization: "Bearer token-from-file" } },
    clientNodeDiffers: ["headers"],
  },
  {
    name: "insecure-skip-tls-verify: yes (YAML 1.1 true, as kubectl reads it)",
    user: { token: "abc" },
    cluster: { "certificate-authority": null, "insecure-skip-tls-verify": "YES_PLAIN" },
    edit: (yaml) => yaml.replace("YES_PLAIN", "yes"),
    reader: "kubeconfig",
    expected: { ca: undefined, rejectUnauthorized: false, headers: { Authorization: "Bearer abc" } },
    clientNodeDiffers: ["rejectUnauthorized"], // js-yaml reads `yes` as a string
  },
  {
    name: "impersonation of a user only",
    user: { token: "abc", as: "jane" },
    reader: "kubeconfig",
    expected: { headers: { Authorization: "Bearer abc", "Impersonate-User": "jane" } },
  },
  {
    name: "impersonation with uid, groups and extra",
    user: { token: "abc", ...impersonation },
    reader: "kubeconfig",
    expected: { headers: { Authorization: "Bearer abc", ...impersonationHeaders } },
    clientNodeDiffers: ["headers"], // client-node sends Impersonate-User only
  },
  {
    name: "an exec plugin (relative to the kubeconfig), through client-node",
    user: {
      exec: execPlugin,
    },
    reader: "client-node",
    expected: { headers: { Authorization: "Bearer token-from-exec" } },
    execRuns: true,
  },
  {
    name: "an exec plugin with impersonation groups: client-node's token, every Impersonate header",
    user: {
      exec: execPlugin,
      ...impersonation,
    },
    reader: "client-node",
    expected: { headers: { Authorization: "Bearer token-from-exec", ...impersonationHeaders } },
    execRuns: true,
  },
  {
    name: "a token beside an exec plugin: client-go's exec steps aside, the plugin never runs",
    user: {
      token: "abc",
      exec: execPlugin,
    },
    reader: "kubeconfig",
    expected: { headers: { Authorization: "Bearer abc" } },
    execRuns: false,
  },
  {
    name: "basic auth, through client-node",
    user: { username: "admin", password: "secret" },
    reader: "client-node",
    expected: { basic: "admin:secret" },
  },
  {
    name: "a key client-go does not define, through client-node, which ignores it as kubectl does",
    user: { token: "abc", "vendor-extension": "x" },
    reader: "client-node",
    expected: { headers: { Authorization: "Bearer abc" } },
  },
  {
    name: "a plain http server: no credentials sent, as client-go reads them only for TLS",
    user: { token: "abc", as: "jane" },
    cluster: { server: "http://127.0.0.1:8080", "certificate-authority": null },
    reader: "kubeconfig",
    expected: { server: "http://127.0.0.1:8080", ca: undefined, headers: { "Impersonate-User": "jane" } },
    clientNodeRefuses: /HTTP protocol is not allowed when skipTLSVerify is not set/,
  },
];

describe("kubeconfig parity: the fast reader, client-node, and client-go's rules", () => {
  for (const testCase of parityCases) {
    it(testCase.name, async () => {
      const files = kubeconfig(testCase.user, testCase.cluster, testCase.edit);
      const expected = expectedView(testCase.expected);
      const auto = await loadAuth({ kubeconfig: files.file });
      assert.equal(auto.reader, testCase.reader, `reader (delegated: ${auto.delegated.join(", ")})`);
      assert.deepEqual(await viewAuth(auto), expected, "loadAuth sends what kubectl sends");
      const viaClientNode = await loadAuth({ kubeconfig: files.file }, { reader: "client-node" });
      assert.equal(viaClientNode.reader, "client-node");
      assert.deepEqual(await viewAuth(viaClientNode), expected, "the client-node path sends the same");
      if (testCase.execRuns !== undefined) {
        assert.equal(existsSync(files.marker), testCase.execRuns, "exec plugin ran");
        return; // client-node alone runs ./plugin.sh from the working directory, and beside a token too
      }
      if (testCase.clientNodeRefuses) {
        await assert.rejects(clientNodeAlone(files.file), testCase.clientNodeRefuses);
        return;
      }
      const alone = await clientNodeAlone(files.file);
      const differs = new Set(testCase.clientNodeDiffers ?? []);
      for (const field of Object.keys(expected) as (keyof View)[]) {
        const got = alone[field];
        if (differs.has(field))
          assert.notDeepEqual(got, expected[field], `client-node alone now gets ${field} right`);
        else assert.deepEqual(got, expected[field], `client-node alone agrees on ${field}`);
      }
    });
  }

  it("proxies: proxy-url, HTTPS_PROXY and NO_PROXY as client-go; SOCKS through client-node's agent", async () => {
    const restore = setEnv({ HTTPS_PROXY: "http://proxy.example:3128", NO_PROXY: "10.0.0.0/8" });
    try {
      const remote = (server: string) => kubeconfig({ token: "abc" }, { server }).file;
      const viaEnv = await loadAuth({ kubeconfig: remote("https://api.example.com:6443") });
      assert.equal(viaEnv.reader, "kubeconfig");
      assert.equal(viaEnv.proxy?.toString(), "http://proxy.example:3128/");
      assert.equal(
        (await loadAuth({ kubeconfig: remote("https://10.1.2.3:6443") })).proxy,
        undefined,
        "NO_PROXY",
      );
      assert.equal(
        (await loadAuth({ kubeconfig: remote("https://127.0.0.1:6443") })).proxy,
        undefined,
        "loopback",
      );
      const configured = kubeconfig({ token: "abc" }, { "proxy-url": "http://other:8080" }).file;
      assert.equal((await loadAuth({ kubeconfig: configured })).proxy?.toString(), "http://other:8080/");
      const socks = await loadAuth({
        kubeconfig: kubeconfig({ token: "abc" }, { "proxy-url": "socks5://s:1080" }).file,
      });
      assert.deepEqual([socks.reader, socks.ownsAgent, socks.proxy], ["client-node", true, undefined]);
      await assert.rejects(
        loadAuth({ kubeconfig: kubeconfig({ token: "abc" }, { "proxy-url": "ftp://x" }).file }),
        /unsupported scheme "ftp"/,
      );
    } finally {
      restore();
    }
  });

  it("merges a $KUBECONFIG list as client-go: the first definition wins, paths relative to their file", async () => {
    const first = kubeconfig({ token: "first" });
    const second = kubeconfig({ tokenFile: "token" }, { server: "https://second:6443" });
    const restore = setEnv({
      KUBECONFIG: [path.join(first.dir, "missing"), second.file, first.file].join(path.delimiter),
    });
    try {
      const auth = await loadAuth({});
      const view = await viewAuth(auth);
      assert.equal(view.server, "https://second:6443");
      assert.equal(view.headers.Authorization, "Bearer token-from-file");
    } finally {
      restore();
    }
  });

  it("refuses what kubectl refuses: a CA with skip-verify, both data and file, a value of the wrong type", async () => {
    await assert.rejects(
      loadAuth({ kubeconfig: kubeconfig({ token: "a" }, { "insecure-skip-tls-verify": true }).file }),
      /root certificates file with the insecure flag is not allowed/,
    );
    await assert.rejects(
      loadAuth({ kubeconfig: kubeconfig({ token: "a" }, { "certificate-authority-data": b64("X") }).file }),
      /certificate-authority-data and certificate-authority are both specified for c/,
    );
    await assert.rejects(
      loadAuth({ kubeconfig: kubeconfig({ token: "a" }, { "insecure-skip-tls-verify": "true" }).file }),
      /clusters\[c\]\.cluster\.insecure-skip-tls-verify: expected true or false/,
    );
    await assert.rejects(
      loadAuth({ kubeconfig: kubeconfig({ token: "a", "as-groups": ["devs"] }).file }),
      /requesting uid, groups or user-extra for u without impersonating a user/,
    );
  });
});

describe("honest connection errors", () => {
  let restore: () => void = () => undefined;
  afterEach(() => {
    restore();
  });

  it("names every place it looked when there is no kubeconfig and no pod", async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), "hde-home-"));
    restore = setEnv({
      HOME: home,
      KUBECONFIG: undefined,
      KUBERNETES_SERVICE_HOST: undefined,
      KUBERNETES_SERVICE_PORT: undefined,
    });
    await assert.rejects(loadAuth({}), (error: Error) => {
      assert.match(error.message, /--kubeconfig is not set/);
      assert.match(error.message, /\$KUBECONFIG is not set/);
      assert.ok(error.message.includes(path.join(home, ".kube", "config")), error.message);
      assert.match(error.message, /KUBERNETES_SERVICE_HOST/);
      return true;
    });
  });

  it("says kubeconfig and the path when --kubeconfig or $KUBECONFIG names a missing file", async () => {
    await assert.rejects(
      loadAuth({ kubeconfig: "/nonexistent/kubeconfig.yaml" }),
      /kubeconfig \/nonexistent\/kubeconfig\.yaml \(from --kubeconfig\) does not exist/,
    );
    restore = setEnv({ KUBECONFIG: "/nonexistent/a" });
    await assert.rejects(loadAuth({}), /kubeconfig \/nonexistent\/a \(from \$KUBECONFIG\) does not exist/);
  });

  it("says so when current-context or --context names a missing context", async () => {
    const { file } = kubeconfig({ token: "abc" }, {}, (yaml) =>
      yaml.replace("current-context: main", "current-context: gone"),
    );
    await assert.rejects(
      loadAuth({ kubeconfig: file }),
      /has no context "gone" \(current-context; contexts: main, second\)/,
    );
    await assert.rejects(
      loadAuth({ kubeconfig: file, context: "nope" }),
      /has no context "nope" \(--context/,
    );
    assert.equal((await loadAuth({ kubeconfig: file, context: "second" })).server, "https://10.0.0.1:443");
  });

  it("says so when no context is chosen at all", async () => {
    const { file } = kubeconfig({ token: "abc" }, {}, (yaml) => yaml.replace("current-context: main", ""));
    await assert.rejects(loadAuth({ kubeconfig: file }), /has no current-context; name one with --context/);
  });
});
