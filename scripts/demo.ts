/**
 * `npm run demo`: a local control plane with sample releases in the states the exporter
 * reports, made with real helm v3 and v4, and the exporter serving them. Ctrl-C stops the
 * exporter; the cluster keeps running until `npm run cluster:down`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { repoRoot } from "../controlplane/binaries.ts";
import { clusterEnv, readClusterInfo, type ClusterInfo } from "../controlplane/cluster-info.ts";
import { startCluster } from "../controlplane/control.ts";
import { run } from "../test/support/cluster.ts";
import { failUpgrade, fixtureChart, helm, helmFails, leavePendingUpgrade } from "../test/support/helm.ts";

const dir = path.join(repoRoot, ".cluster");
const say = (message: string) => {
  process.stdout.write(`demo: ${message}\n`);
};

async function cluster(): Promise<ClusterInfo> {
  if (existsSync(path.join(dir, "cluster.json"))) {
    const info = readClusterInfo(dir);
    try {
      process.kill(info.supervisorPid, 0);
      say(`reusing the control plane in .cluster/ (${info.server})`);
      return info;
    } catch {
      throw new Error(".cluster/ is left from a stopped control plane: run `npm run cluster:down` first");
    }
  }
  say("starting a local control plane in .cluster/");
  return startCluster({ dir });
}

async function releaseExists(kc: KubeConfig, namespace: string, release: string): Promise<boolean> {
  const core = kc.makeApiClient(CoreV1Api);
  const selector = { namespace, labelSelector: `owner=helm,name=${release}` };
  const [secrets, configMaps] = await Promise.all([
    core.listNamespacedSecret(selector),
    core.listNamespacedConfigMap(selector),
  ]);
  return secrets.items.length + configMaps.items.length > 0;
}

async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.readNamespace({ name });
  } catch {
    await core.createNamespace({ body: { metadata: { name } } });
  }
}

const info = await cluster();
Object.assign(process.env, clusterEnv(info));
const kc = new KubeConfig();
kc.loadFromFile(info.kubeconfig);
const smoke = fixtureChart("smoke");

const scenarios: { namespace: string; release: string; what: string; make: () => Promise<unknown> }[] = [
  {
    namespace: "shop",
    release: "storefront",
    what: "deployed (helm v3, upgraded once)",
    make: async () => {
      await helm("v3", ["install", "storefront", smoke, "-n", "shop"]);
      await helm("v3", ["upgrade", "storefront", smoke, "-n", "shop", "--set", "greeting=hi"]);
    },
  },
  {
    namespace: "shop",
    release: "checkout",
    what: "failed upgrade (helm v4; the apiserver rejected the new manifest)",
    make: async () => {
      await helm("v4", ["install", "checkout", smoke, "-n", "shop"]);
      await failUpgrade("v4", "checkout", "shop");
    },
  },
  {
    namespace: "platform",
    release: "migrations",
    what: "stuck in pending-upgrade (helm v3 killed while waiting on a hook Job)",
    make: () => leavePendingUpgrade(kc, "v3", "migrations", "platform"),
  },
  {
    namespace: "shop",
    release: "catalog",
    what: "drifted (helm v4, upgraded once): kubectl set image, kubectl scale, a Service deleted, a Secret patched; its rollback is blocked by server-side apply conflicts",
    make: async () => {
      await helm("v4", ["install", "catalog", fixtureChart("realworld"), "-n", "shop"]);
      // A second revision, so that `helm rollback catalog` has a target (revision 1).
      await helm("v4", ["upgrade", "catalog", fixtureChart("realworld"), "-n", "shop"]);
      const kubectl = (...args: string[]) => run("kubectl", ["-n", "shop", ...args]);
      await kubectl("set", "image", "deployment/catalog-web", "web=registry.example/shop:2.8.0-hotfix");
      await kubectl("scale", "statefulset", "catalog-db", "--replicas=2");
      await kubectl("delete", "service", "catalog-nodeport");
      await kubectl(
        "patch",
        "secret",
        "catalog-secret",
        "-p",
        JSON.stringify({ stringData: { password: "changed-by-hand" } }),
      );
    },
  },
  {
    namespace: "platform",
    release: "reports",
    what: "an orphaned hook (a hook-succeeded ConfigMap re-created by hand) and a leftover from a failed upgrade",
    make: async () => {
      const chart = fixtureChart("hooks");
      await helm("v3", ["install", "reports", chart, "-n", "platform"]);
      await helmFails("v3", [
        "upgrade",
        "reports",
        chart,
        "-n",
        "platform",
        "--set",
        "extra=true,invalid=true",
      ]);
      const kubectl = (...args: string[]) => run("kubectl", ["-n", "platform", ...args]);
      await kubectl("create", "configmap", "reports-pre", "--from-literal=step=again");
      await kubectl("annotate", "configmap", "reports-pre", "helm.sh/hook=pre-install,pre-upgrade");
    },
  },
  {
    namespace: "platform",
    release: "legacy",
    what: "deployed, stored by the ConfigMap driver",
    make: () => helm("v3", ["install", "legacy", smoke, "-n", "platform"], { HELM_DRIVER: "configmap" }),
  },
];

for (const scenario of scenarios) {
  await ensureNamespace(kc, scenario.namespace);
  if (await releaseExists(kc, scenario.namespace, scenario.release)) {
    say(`${scenario.namespace}/${scenario.release} already there`);
    continue;
  }
  say(`${scenario.namespace}/${scenario.release}: ${scenario.what}`);
  await scenario.make();
}

const port = process.env.DEMO_PORT ?? "9877";
say(`starting the exporter on http://localhost:${port}/ (Ctrl-C stops it; the cluster keeps running)`);
say(`  metrics:  curl -s localhost:${port}/metrics | grep ^helm_release_status`);
say(`  releases: curl -s localhost:${port}/api/v1/releases`);
say("  one scan: source .cluster/env && npm run -s scan -- --diff");
say("  stop the cluster: npm run cluster:down");
const exporter = spawn(
  process.execPath,
  [
    path.join(repoRoot, "src/cli/main.ts"),
    "serve",
    "--web.listen-address",
    `:${port}`,
    "--schedule",
    "*/30 * * * * *",
    "--log.format",
    "logfmt",
  ],
  { stdio: "inherit", env: process.env },
);
process.on("SIGINT", () => exporter.kill("SIGTERM"));
exporter.on("close", (code) => {
  process.exit(code ?? 0);
});
