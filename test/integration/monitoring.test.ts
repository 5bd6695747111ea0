/**
 * The monitoring bundle for real: the exporter scrapes a control plane with drifted,
 * failed, stuck and orphaned releases. It runs as the Helm chart configures it, with TLS and
 * basic auth (webConfig), and a real Prometheus scrapes it with the scrape configuration the
 * chart's ServiceMonitor stands for (tlsConfig, basicAuth, honorLabels, relabelings), translated
 * as prometheus-operator does; scrapes without the CA or the credentials fail. Prometheus
 * evaluates the alert rules (a test-only copy with short `for`s, generated from the same source)
 * and sends alerts to a real Alertmanager, which routes them to a webhook receiver in this test.
 * Every dashboard query then runs against that Prometheus.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import bcrypt from "bcryptjs";
import { parse, stringify } from "yaml";
import { repoRoot, resolveMonitoringBinaries } from "../../controlplane/binaries.ts";
import { createPki } from "../../controlplane/pki.ts";
import { only, podFiles, renderChart, type K8sObject } from "../support/chart.ts";
import { createNamespace, kubeConfig, run } from "../support/cluster.ts";
import { startServer, type Server } from "../support/exporter.ts";
import { failUpgrade, fixtureChart, helm, helmFails, leavePendingUpgrade } from "../support/helm.ts";
import { pollUntil } from "../support/poll.ts";
import { freePort, runProcess, startProcess, type Running } from "../support/processes.ts";

const JOB = "helm-drift-exporter";
/** Added by the ServiceMonitor's relabelings, as a central Prometheus would. */
const CLUSTER = "e2e";

interface WebhookAlert {
  /** The Alertmanager receiver it was routed to (the webhook's path). */
  receiver: string;
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** What the test's Secrets hold, by name and key: the chart only names them. */
type Secrets = Record<string, Record<string, string>>;

interface SecretKey {
  name: string;
  key: string;
}

interface Endpoint {
  path: string;
  interval: string;
  scrapeTimeout?: string;
  honorLabels?: boolean;
  scheme?: string;
  tlsConfig?: { ca?: { secret?: SecretKey }; serverName?: string; insecureSkipVerify?: boolean };
  basicAuth?: { username: SecretKey; password: SecretKey };
  relabelings?: {
    targetLabel?: string;
    replacement?: string;
    sourceLabels?: string[];
    regex?: string;
    action?: string;
  }[];
  metricRelabelings?: unknown[];
}

/**
 * A Prometheus scrape config for one ServiceMonitor endpoint, as prometheus-operator writes it:
 * Secret keys become files (or values) Prometheus reads; the target is given instead of found.
 */
function scrapeConfig(
  job: string,
  endpoint: Endpoint,
  target: string,
  secrets: Secrets,
  dir: string,
): unknown {
  const secretFile = ({ name, key }: SecretKey) => {
    const file = path.join(dir, `${name}-${key}`);
    writeFileSync(file, secrets[name]?.[key] ?? "");
    return file;
  };
  const tls = endpoint.tlsConfig;
  const auth = endpoint.basicAuth;
  return {
    job_name: job,
    honor_labels: endpoint.honorLabels ?? false,
    metrics_path: endpoint.path,
    scrape_interval: "2s",
    ...(endpoint.scrapeTimeout === undefined ? {} : { scrape_timeout: endpoint.scrapeTimeout }),
    scheme: endpoint.scheme ?? "http",
    ...(tls === undefined
      ? {}
      : {
          tls_config: {
            ...(tls.ca?.secret ? { ca_file: secretFile(tls.ca.secret) } : {}),
            ...(tls.serverName === undefined ? {} : { server_name: tls.serverName }),
            ...(tls.insecureSkipVerify === undefined ? {} : { insecure_skip_verify: tls.insecureSkipVerify }),
          },
        }),
    ...(auth === undefined
      ? {}
      : {
          basic_auth: {
            username: secrets[auth.username.name]?.[auth.username.key] ?? "",
            password_file: secretFile(auth.password),
          },
        }),
    static_configs: [{ targets: [target] }],
    relabel_configs: (endpoint.relabelings ?? []).map((r) => ({
      ...(r.sourceLabels ? { source_labels: r.sourceLabels } : {}),
      ...(r.targetLabel ? { target_label: r.targetLabel } : {}),
      ...(r.replacement === undefined ? {} : { replacement: r.replacement }),
      ...(r.regex === undefined ? {} : { regex: r.regex }),
      ...(r.action === undefined ? {} : { action: r.action }),
    })),
  };
}

interface Route {
  receiver?: string;
  group_wait?: string;
  group_interval?: string;
  active_time_intervals?: string[];
  routes?: Route[];
}

/**
 * examples/alertmanager.yaml with each receiver a webhook to `url`/<receiver name>, and its
 * routes' waits shortened; without its working-hours interval (the test runs at any hour) and its
 * inhibitions (which hold back alerts this test expects to see).
 */
function exampleAlertmanagerConfig(url: string): unknown {
  const config = parse(readFileSync(path.join(repoRoot, "examples/alertmanager.yaml"), "utf8")) as {
    route: Route;
    receivers: { name: string }[];
  };
  const quick = (route: Route): Route => ({
    ...Object.fromEntries(
      Object.entries(route).filter(([key]) => key !== "active_time_intervals" && key !== "routes"),
    ),
    group_wait: "1s",
    group_interval: "1s",
    ...(route.routes ? { routes: route.routes.map(quick) } : {}),
  });
  return {
    route: quick(config.route),
    receivers: config.receivers.map(({ name }) => ({ name, webhook_configs: [{ url: `${url}/${name}` }] })),
  };
}

function valuesFile(dir: string, values: unknown): string {
  const file = path.join(dir, "values.yaml");
  writeFileSync(file, stringify(values));
  return file;
}

describe("monitoring bundle end to end", () => {
  let dir = "";
  let ns = "";
  let exporter: Server | undefined;
  let prometheus: Running | undefined;
  let alertmanager: Running | undefined;
  let receiver: http.Server | undefined;
  let prometheusUrl = "";
  let closedTarget = "";
  const received: WebhookAlert[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "hde-monitoring-"));
    ns = await createNamespace("monitoring");
    const kubectl = (...args: string[]) => run("kubectl", ["-n", ns, ...args]);
    // Releases in every state the alerts watch.
    await helm("v4", ["install", "drifted", fixtureChart("realworld"), "-n", ns]);
    await kubectl("scale", "statefulset", "drifted-db", "--replicas=3");
    await kubectl("delete", "service", "drifted-nodeport");
    await helm("v3", ["install", "broken", fixtureChart("smoke"), "-n", ns]);
    await failUpgrade("v3", "broken", ns);
    await failUpgrade("v3", "broken", ns);
    await leavePendingUpgrade(kubeConfig(), "v3", "stuck", ns);
    await helm("v3", ["install", "hooked", fixtureChart("hooks"), "-n", ns]);
    await helmFails("v3", [
      "upgrade",
      "hooked",
      fixtureChart("hooks"),
      "-n",
      ns,
      "--set",
      "extra=true,invalid=true",
    ]);
    await kubectl("create", "configmap", "hooked-pre", "--from-literal=step=again");
    await kubectl("annotate", "configmap", "hooked-pre", "helm.sh/hook=pre-install,pre-upgrade");

    // The exporter as the chart runs it: TLS and basic auth from an existing web config Secret,
    // and the ServiceMonitor that scrapes it with the Secrets holding the CA and the credentials.
    const pkiDir = path.join(dir, "pki");
    mkdirSync(pkiDir);
    const pki = createPki(pkiDir);
    const password = "scrape-secret";
    const secrets: Secrets = {
      "hde-web": {
        "web.yml": stringify({
          tls_server_config: { cert_file: "tls.crt", key_file: "tls.key" },
          basic_auth_users: { prometheus: bcrypt.hashSync(password, 10) },
        }),
        "tls.crt": readFileSync(pki.serverCert, "utf8"),
        "tls.key": readFileSync(pki.serverKey, "utf8"),
      },
      "hde-ca": { "ca.crt": readFileSync(pki.caCert, "utf8") },
      "hde-scrape": { username: "prometheus", password },
    };
    const objects = await renderChart([
      "-f",
      valuesFile(dir, {
        webConfig: { secret: "hde-web" },
        serviceMonitor: {
          enabled: true,
          tlsConfig: { ca: { secret: { name: "hde-ca", key: "ca.crt" } }, serverName: "localhost" },
          basicAuth: {
            username: { name: "hde-scrape", key: "username" },
            password: { name: "hde-scrape", key: "password" },
          },
          relabelings: [{ targetLabel: "cluster", replacement: CLUSTER }],
        },
      }),
    ]);
    const pod = podFiles(objects, secrets);
    exporter = await startServer(["--namespaces", ns, "--schedule", "*/5 * * * * *", ...pod.args], pod.env);

    receiver = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        const name = (request.url ?? "/").slice(1);
        const { alerts } = JSON.parse(body) as { alerts: Omit<WebhookAlert, "receiver">[] };
        received.push(...alerts.map((alert) => ({ ...alert, receiver: name })));
        response.end();
      });
    });
    const receiverPort = await freePort();
    await new Promise<void>((resolve) => receiver?.listen(receiverPort, "127.0.0.1", resolve));

    const binaries = resolveMonitoringBinaries();
    const amPort = await freePort();
    writeFileSync(
      path.join(dir, "alertmanager.yml"),
      stringify(exampleAlertmanagerConfig(`http://127.0.0.1:${String(receiverPort)}`)),
    );
    alertmanager = startProcess(binaries.alertmanager, [
      `--config.file=${path.join(dir, "alertmanager.yml")}`,
      `--storage.path=${path.join(dir, "alertmanager-data")}`,
      `--web.listen-address=127.0.0.1:${String(amPort)}`,
      "--cluster.listen-address=",
    ]);

    const rules = path.join(dir, "rules.yaml");
    execFileSync(process.execPath, [
      path.join(repoRoot, "alerts/generate.ts"),
      "--profile",
      "fast",
      "--out",
      rules,
    ]);
    const promPort = await freePort();
    prometheusUrl = `http://127.0.0.1:${String(promPort)}`;
    const target = new URL(exporter.url).host;
    // A second target of the same job that is down: HelmDriftExporterDown fires for it alone.
    closedTarget = `127.0.0.1:${String(await freePort())}`;
    const endpoint = (only(objects, "ServiceMonitor") as K8sObject & { spec: { endpoints: Endpoint[] } }).spec
      .endpoints[0];
    assert.ok(endpoint);
    const scrapes = [
      scrapeConfig("servicemonitor", endpoint, target, secrets, dir),
      scrapeConfig("servicemonitor-down", endpoint, closedTarget, secrets, dir),
      // The same endpoint without the credentials, and without the CA: refused.
      scrapeConfig(
        "no-credentials",
        { ...endpoint, basicAuth: undefined, relabelings: [] },
        target,
        secrets,
        dir,
      ),
      scrapeConfig(
        "no-ca",
        { ...endpoint, tlsConfig: { serverName: "localhost" }, relabelings: [] },
        target,
        secrets,
        dir,
      ),
    ];
    writeFileSync(
      path.join(dir, "prometheus.yml"),
      stringify({
        global: { scrape_interval: "2s", evaluation_interval: "2s" },
        rule_files: [rules],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${String(amPort)}`] }] }] },
        scrape_configs: scrapes,
      }),
    );
    prometheus = startProcess(binaries.prometheus, [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${String(promPort)}`,
    ]);
    await pollUntil("Prometheus to scrape the exporter", async () => {
      const up = await query(`up{job="${JOB}"} == 1`).catch(() => []);
      return up.length > 0 ? true : undefined;
    });
  });

  after(async () => {
    await Promise.all([prometheus?.stop(), alertmanager?.stop(), exporter?.stop()]);
    await new Promise((resolve) => receiver?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function query(expr: string): Promise<unknown[]> {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    if (body.status !== "success") throw new Error(`query failed: ${expr}: ${body.error ?? ""}`);
    return body.data?.result ?? [];
  }

  it("accepts examples/prometheus-scrape-config.yaml (promtool check config)", async () => {
    const { promtool } = resolveMonitoringBinaries();
    const file = path.join(repoRoot, "examples/prometheus-scrape-config.yaml");
    const result = await runProcess(promtool, ["check", "config", "--syntax-only", file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it("scrapes the exporter with the ServiceMonitor's TLS and basic auth, and fails without them", async () => {
    const targets = await pollUntil("every scrape to have run", async () => {
      const response = await fetch(`${prometheusUrl}/api/v1/targets`);
      const body = (await response.json()) as {
        data: { activeTargets: { scrapePool: string; health: string; lastError: string }[] };
      };
      const active = body.data.activeTargets;
      return active.length === 4 && active.every((t) => t.health !== "unknown") ? active : undefined;
    });
    const byPool = new Map(targets.map((t) => [t.scrapePool, t]));
    assert.equal(byPool.get("servicemonitor")?.health, "up", JSON.stringify(targets));
    assert.match(byPool.get("no-credentials")?.lastError ?? "", /401/);
    assert.match(byPool.get("no-ca")?.lastError ?? "", /x509|certificate/);
    // honorLabels kept the release's namespace; the relabelings set the job and the cluster.
    const series = await query(`helm_release_status{job="${JOB}", cluster="${CLUSTER}", namespace="${ns}"}`);
    assert.ok(series.length > 0, "release series with the release's namespace, job and cluster");
  });

  it("routes the expected alerts through Alertmanager to the receiver, per cluster and per target", async () => {
    const expected = [
      ["HelmReleaseDrifted", "drifted"],
      ["HelmReleaseResourceMissing", "drifted"],
      ["HelmReleaseFailed", "broken"],
      ["HelmReleaseFailedRepeatedly", "broken"],
      ["HelmReleasePendingStuck", "stuck"],
      ["HelmReleaseOrphanedHookResources", "hooked"],
      ["HelmReleaseLeftoverResources", "hooked"],
      ["HelmDriftExporterDown", closedTarget],
    ];
    const key = (a: WebhookAlert) =>
      `${a.labels.alertname ?? ""}/${a.labels.release ?? a.labels.instance ?? ""}`;
    const firing = () =>
      new Set(
        received
          .filter(
            (a) => a.status === "firing" && (a.labels.namespace === ns || a.labels.namespace === undefined),
          )
          .map(key),
      );
    await pollUntil(
      `alerts ${expected.map(([alert, what]) => `${alert ?? ""}/${what ?? ""}`).join(", ")}`,
      async () =>
        Promise.resolve(
          expected.every(([alert, what]) => firing().has(`${alert ?? ""}/${what ?? ""}`)) ? true : undefined,
        ),
      undefined,
      1000,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}\nreceived: ${[...firing()].join(", ")}\nprometheus:\n${prometheus?.output().slice(-2000) ?? ""}`,
      );
    });
    for (const alert of received) {
      assert.ok(
        alert.labels.severity && ["critical", "warning", "info"].includes(alert.labels.severity),
        JSON.stringify(alert.labels),
      );
      assert.equal(alert.labels.cluster, CLUSTER, JSON.stringify(alert.labels));
      assert.match(
        alert.annotations.dashboard_url ?? "",
        new RegExp(`^/d/hde-[a-z-]+\\?var-cluster=${CLUSTER}&var-job=${JOB}`),
      );
    }
    const live = new URL(exporter?.url ?? "").host;
    assert.ok(!firing().has(`HelmDriftExporterDown/${live}`), "the exporter is up");
    assert.ok(!firing().has("HelmDriftExporterDown/"), "the job is scraped");
    // examples/alertmanager.yaml routes each severity to its receiver.
    const routed = (alertname: string) => received.find((a) => a.labels.alertname === alertname)?.receiver;
    assert.equal(routed("HelmReleasePendingStuck"), "pager");
    assert.equal(routed("HelmReleaseDrifted"), "tickets");
    assert.equal(routed("HelmDriftExporterDown"), "tickets");
    assert.equal(routed("HelmReleaseLeftoverResources"), "cleanup");
    const stuck = received.find((a) => a.labels.alertname === "HelmReleasePendingStuck");
    assert.equal(stuck?.labels.severity, "critical", "what blocks a deploy pages");
    assert.match(stuck.annotations.dashboard_url ?? "", new RegExp(`var-namespace=${ns}&var-release=stuck$`));
  });

  it("runs every dashboard query without error, with data where the scenario has it", async () => {
    const dashboards = readdirSync(path.join(repoRoot, "grafana")).filter((file) => file.endsWith(".json"));
    assert.ok(dashboards.length >= 3);
    const empty: string[] = [];
    let queries = 0;
    for (const file of dashboards) {
      const dashboard = JSON.parse(readFileSync(path.join(repoRoot, "grafana", file), "utf8")) as unknown;
      for (const expr of expressions(dashboard)) {
        const concrete = expr
          .replaceAll("$__rate_interval", "1m")
          .replaceAll("$__range", "1h")
          .replaceAll("$__interval", "30s")
          .replaceAll(/\$\{?cluster\}?/g, CLUSTER)
          .replaceAll(/\$\{?job\}?/g, JOB)
          .replaceAll(/\$\{?namespace\}?/g, ns)
          .replaceAll(/\$\{?release\}?/g, ".*")
          .replaceAll(/\$\{?instance\}?/g, ".*");
        queries++;
        const result = await query(concrete);
        if (result.length === 0) empty.push(`${file}: ${concrete}`);
      }
    }
    assert.ok(queries > 20, `only ${String(queries)} queries`);
    // Some panels show what this scenario does not have (stuck terminating, unreadable, running
    // hooks that are not active...): they may be empty, but most must have data.
    assert.ok(
      empty.length <= queries / 3,
      `too many empty panels (${String(empty.length)}/${String(queries)}):\n${empty.join("\n")}`,
    );
  });
});

function expressions(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(expressions);
  if (!node || typeof node !== "object") return [];
  const object = node as Record<string, unknown>;
  const own = typeof object.expr === "string" && object.expr.trim() !== "" ? [object.expr] : [];
  return [
    ...own,
    ...Object.entries(object)
      .filter(([key]) => key !== "templating")
      .flatMap(([, value]) => expressions(value)),
  ];
}
