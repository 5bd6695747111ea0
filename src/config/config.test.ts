import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigError, parseBytes, parseDuration, parseListenAddress, resolveConfig } from "./config.ts";

const resolve = (flags: Record<string, string> = {}, env: Record<string, string> = {}, configFile?: string) =>
  resolveConfig({ flags, env, ...(configFile && { configFile }) });

function problems(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail("expected a ConfigError");
}

function configFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-config-")), "config.yaml");
  writeFileSync(file, text);
  return file;
}

describe("resolveConfig", () => {
  it("has working defaults, with a port that is not helm-exporter's 9571", () => {
    const config = resolve();
    assert.equal(config.schedule, "*/2 * * * *");
    assert.equal(config.listenPort, 9877);
    assert.equal(config.listenHost, undefined);
    assert.equal(config.telemetryPath, "/metrics");
    assert.equal(config.scanTimeoutMs, 300_000);
    assert.equal(config.maxDecodedBytes, 64 * 1024 * 1024);
    assert.deepEqual(config.namespaces, []);
    assert.equal(config.logFormat, "json");
  });

  it("reads the release filters and metric lists from flags, environment and file", () => {
    const none = resolve();
    assert.deepEqual(none.releaseFilter, { releases: [], excludeReleases: [] });
    assert.deepEqual(none.metricFilter, { allow: [], deny: [] });
    const file = configFile(
      [
        "releases: [team-a/*, shop-?]",
        "excludeReleases: ['*-canary']",
        "namespaceSelector: team in (a, b),!skip",
        "metricDenylist: [helm_release_info, 'helm_release_drift.*']",
      ].join("\n"),
    );
    const config = resolve({}, { HELM_DRIFT_EXPORTER_METRIC_DENYLIST: "helm_release_revision" }, file);
    assert.deepEqual(config.releaseFilter, {
      releases: ["team-a/*", "shop-?"],
      excludeReleases: ["*-canary"],
      namespaceSelector: "team in (a, b),!skip",
    });
    assert.deepEqual(config.metricFilter, { allow: [], deny: ["helm_release_revision"] });
    assert.deepEqual(resolve({ "metric-allowlist": "helm_release_status" }).metricFilter, {
      allow: ["helm_release_status"],
      deny: [],
    });
  });

  it("refuses bad release globs, selectors and metric regexes, and both metric lists at once", () => {
    const found = problems(() =>
      resolve({
        releases: "Team/App,a/b/c",
        "exclude-releases": "ok-*",
        "namespace-selector": "team in prod",
        "metric-allowlist": "helm_(release",
        "metric-denylist": "helm_release_info",
      }),
    );
    assert.equal(found.filter((problem) => problem.startsWith("release glob")).length, 2, found.join("\n"));
    assert.ok(found.some((problem) => /--namespace-selector=.*expected "\(" after in/.test(problem)));
    assert.ok(found.some((problem) => problem.includes("mutually exclusive")));
    assert.ok(found.some((problem) => problem.startsWith('metric pattern "helm_(release"')));
    assert.equal(found.length, 5, found.join("\n"));
  });

  it("takes flags over environment over file", () => {
    const file = configFile(
      "schedule: '*/10 * * * *'\nnamespaces: [a, b]\nweb:\n  listenAddress: ':1000'\nlog: {level: debug}\n",
    );
    const fromFile = resolve({}, {}, file);
    assert.equal(fromFile.schedule, "*/10 * * * *");
    assert.deepEqual(fromFile.namespaces, ["a", "b"]);
    assert.equal(fromFile.listenPort, 1000);
    assert.equal(fromFile.logLevel, "debug");
    const fromEnv = resolve({}, { HELM_DRIFT_EXPORTER_WEB_LISTEN_ADDRESS: "127.0.0.1:2000" }, file);
    assert.equal(fromEnv.listenPort, 2000);
    assert.equal(fromEnv.listenHost, "127.0.0.1");
    const fromFlag = resolve(
      { "web.listen-address": ":3000" },
      { HELM_DRIFT_EXPORTER_WEB_LISTEN_ADDRESS: ":2000" },
      file,
    );
    assert.equal(fromFlag.listenPort, 3000);
  });

  it("reports every invalid value at once, naming where it came from", () => {
    const found = problems(() =>
      resolve(
        { schedule: "every day", "scan.timeout": "soon", "log.level": "loud" },
        { HELM_DRIFT_EXPORTER_WEB_LISTEN_ADDRESS: "nowhere", HELM_DRIFT_EXPORTER_NAMESPACES: "Bad_NS" },
      ),
    );
    const text = found.join("\n");
    assert.match(text, /--schedule="every day" \(flag --schedule\): not a valid cron expression/);
    assert.match(text, /--scan\.timeout="soon"/);
    assert.match(text, /--log\.level="loud" .*must be one of debug, info, warn, error/);
    assert.match(text, /--web\.listen-address="nowhere" \(env HELM_DRIFT_EXPORTER_WEB_LISTEN_ADDRESS\)/);
    assert.match(text, /namespace "Bad_NS" is not a valid namespace name/);
    assert.equal(found.length, 5);
  });

  it("keeps a record's decoding within the scanner's heap", () => {
    assert.ok(resolve({ "scan.heap-limit": "256Mi", "release.max-decoded-bytes": "64Mi" }));
    assert.match(
      problems(() => resolve({ "scan.heap-limit": "128Mi", "release.max-decoded-bytes": "64Mi" })).join(),
      /--release\.max-decoded-bytes \(67108864\) must be at most a quarter of --scan\.heap-limit \(134217728\)/,
    );
  });

  it("rejects unknown keys and unreadable files", () => {
    assert.match(problems(() => resolve({}, {}, configFile("shedule: x\n"))).join(), /unknown key "shedule"/);
    assert.match(problems(() => resolve({}, {}, "/nonexistent/config.yaml")).join(), /cannot read/);
    assert.match(problems(() => resolve({}, {}, configFile("a: [\n"))).join(), /not valid YAML/);
  });
});

describe("value parsers", () => {
  it("parses durations, sizes and listen addresses", () => {
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("5"), undefined);
    assert.equal(parseDuration("5m junk"), undefined);
    assert.equal(parseBytes("64Mi"), 67_108_864);
    assert.equal(parseBytes("1000"), 1000);
    assert.equal(parseBytes("1.5Gi"), undefined);
    assert.deepEqual(parseListenAddress("[::1]:9877"), { host: "::1", port: 9877 });
    assert.deepEqual(parseListenAddress("0.0.0.0:80"), { host: "0.0.0.0", port: 80 });
    assert.ok(!("port" in parseListenAddress("9877")));
    assert.ok(!("port" in parseListenAddress(":99999")));
  });
});

describe("drift settings", () => {
  it("reads managers and ignore rules from the file, flags over file", () => {
    const file = configFile(
      [
        "drift:",
        "  helmManagers: [helm, my-gitops]",
        "  ignoreHpaReplicas: false",
        "  humanManagers: [kubectl, kubectl-*, k9s]",
        "  ignore:",
        "    - { release: 'web-*', kind: apps/Deployment, paths: [/spec/replicas] }",
        "    - { namespace: team-a, managers: [argo-rollouts] }",
      ].join("\n"),
    );
    const config = resolve({ "drift.ignore-managers": "cainjector" }, {}, file);
    assert.deepEqual(config.drift, {
      helmManagers: ["helm", "my-gitops"],
      ignoreManagers: ["cainjector"],
      ignoreHpaReplicas: false,
      rules: [
        { release: "web-*", kind: "apps/Deployment", paths: ["/spec/replicas"] },
        { namespace: "team-a", managers: ["argo-rollouts"] },
      ],
      humanManagers: ["kubectl", "kubectl-*", "k9s"],
    });
    assert.deepEqual(resolve().drift.helmManagers, ["helm", "helm-controller"]);
    assert.deepEqual(resolve().drift.humanManagers, ["kubectl", "kubectl-*"]);
    for (const off of [
      resolve({ "drift.human-managers": "" }),
      resolve({}, {}, configFile("drift: {humanManagers: []}")),
    ])
      assert.deepEqual(off.drift.humanManagers, [], "empty: hand-made additions are not looked for");
    assert.deepEqual(structuredClone(config), config, "plain data: serve hands it to its scanner process");
  });

  it("rejects malformed ignore rules with a clear message", () => {
    const text = problems(() =>
      resolve(
        {},
        {},
        configFile(
          "drift:\n  ignore:\n    - { kind: Deployment, paths: [spec/replicas], colour: red }\n    - 42\n",
        ),
      ),
    ).join("\n");
    assert.match(text, /drift\.ignore\[0\]: unknown key "colour"/);
    assert.match(text, /drift\.ignore\[0\]\.paths: "spec\/replicas" must start with \//);
    assert.match(text, /drift\.ignore\[1\] must be a mapping/);
  });
});
