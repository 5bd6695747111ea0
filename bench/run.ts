/**
 * `npm run bench -- --releases 250,1000,2000 --out results.json`
 *
 * For each size, on a fresh real control plane: populate N releases (bench/populate),
 * then measure in one run, on that cluster, the exporter (cold scan, warm scans of the
 * unchanged cluster, API requests and bytes per scan, peak RSS, /metrics latency under
 * concurrent scrapes) and the baselines (bench/baselines.ts): the floor of raw LISTs,
 * and the `helm get manifest | kubectl diff` loop (helm-diff where it builds). Prints a
 * markdown table and writes JSON with the ratios and the agreement on which releases
 * drift. Figures are ratios against baselines measured in the same run, never absolute
 * thresholds: the machine's speed cancels out.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_DECODE_LIMITS } from "../src/helm/decode.ts";
import { KubeClient } from "../src/kube/client.ts";
import { Discovery } from "../src/read/discovery.ts";
import { apiBase } from "../src/read/namespaces.ts";
import { listRevisions, RevisionReader } from "../src/read/release-storage.ts";
import { Collections } from "../src/read/collections.ts";
import { HELM_MANAGED_SELECTOR } from "../src/helm/vocabulary.ts";
import { repoRoot } from "../controlplane/binaries.ts";
import { clusterEnv, type ClusterInfo } from "../controlplane/cluster-info.ts";
import { startCluster, stopCluster } from "../controlplane/control.ts";
import {
  helmDiffLoop,
  kubectlDiffLoop,
  measureFloor,
  type Collection,
  type DiffLoopResult,
  type FloorResult,
} from "./baselines.ts";
import { startExporter, type ScanReading, type ScrapeResult } from "./exporter-probe.ts";
import { populate, type PopulateResult } from "./populate.ts";
import { markdownReport, type SizeResult } from "./report.ts";

const { values } = parseArgs({
  options: {
    releases: { type: "string", default: "1000" },
    out: { type: "string", default: "bench-results.json" },
    revisions: { type: "string", default: "3" },
    "diff-sample": { type: "string", default: "100" },
    "warm-scans": { type: "string", default: "3" },
    "scan-interval": { type: "string", default: "15" },
    "scrape-rate": { type: "string", default: "20" },
    "scrape-seconds": { type: "string", default: "" },
    "scrape-concurrency": { type: "string", default: "1,2,8" },
    "exporter-dir": { type: "string", default: repoRoot },
    "keep-dir": { type: "boolean", default: false },
  },
  strict: true,
});

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const int = (name: keyof typeof values) => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
  return value;
};

/** A deterministic spread over the releases, always including every drifted and failed one up to the sample size. */
function sampleOf<T extends { drifted: boolean; failed: boolean }>(items: readonly T[], size: number): T[] {
  if (size >= items.length) return [...items];
  const marked = items.filter((item) => item.drifted || item.failed);
  const rest = items.filter((item) => !item.drifted && !item.failed);
  const fromMarked = marked.filter((_, i) => i % Math.ceil(marked.length / Math.ceil(size / 2)) === 0);
  const step = rest.length / Math.max(1, size - fromMarked.length);
  const fromRest = Array.from(
    { length: size - fromMarked.length },
    (_, i) => rest[Math.floor(i * step)],
  ).filter((item): item is T => item !== undefined);
  return [...fromMarked, ...fromRest];
}

/**
 * The collections a minimal tool must list, each with its label selector: every kind the
 * releases use (Helm label), and the release Secrets. resourceVersion=0: served whole from
 * the apiserver's cache, the cheapest read there is.
 */
async function floorCollections(info: ClusterInfo): Promise<(Collection & { readonly selector: string })[]> {
  const client = await KubeClient.connect({ kubeconfig: info.kubeconfig });
  const collections = new Collections(client, { watch: false });
  try {
    const discovery = new Discovery(client);
    await discovery.ensureFresh();
    const listing = await listRevisions(collections, { include: [], exclude: [] });
    const reader = new RevisionReader(client, DEFAULT_DECODE_LIMITS);
    // One release's deployed record names the kinds every release uses (all are the same chart).
    const deployed = listing.revisions.find((ref) => ref.status === "deployed");
    if (!deployed) throw new Error("no deployed release to learn the kinds from");
    const decoded = await reader.read(deployed);
    if (!decoded.ok) throw new Error(`cannot decode ${deployed.objectName}: ${decoded.message}`);
    const kinds = new Map<string, Collection & { selector: string }>();
    for (const object of decoded.record.manifest) {
      const resource = discovery.resolve(object.apiVersion, object.kind);
      if (!resource) continue;
      const path = `${apiBase(resource.group, resource.version)}/${resource.resource}?resourceVersion=0`;
      kinds.set(path, { path, resource: resource.resource, selector: HELM_MANAGED_SELECTOR });
    }
    const secrets = {
      path: "/api/v1/secrets?resourceVersion=0",
      resource: "secrets",
      selector: "owner=helm",
    };
    return [...kinds.values(), secrets];
  } finally {
    collections.close();
    client.close();
  }
}

interface ReleaseJson {
  namespace: string;
  release: string;
  status: string;
  drift: { inSync: boolean; modified: number; missing: number } | null;
}

async function measureSize(releases: number, workDir: string): Promise<SizeResult> {
  const dir = path.join(workDir, `cluster-${String(releases)}`);
  log(`${String(releases)} releases: starting a control plane in ${dir}`);
  const info = await startCluster({ dir, parentPid: process.pid });
  try {
    const env = clusterEnv(info);
    log(`populating ${String(releases)} releases`);
    const populated: PopulateResult = await populate({
      kubeconfig: info.kubeconfig,
      binDir: info.binDir,
      env,
      releases,
      revisions: int("revisions"),
      log,
    });
    log(
      `populated ${String(populated.objects)} objects, ${String(populated.releaseSecrets)} release Secrets in ${populated.seconds.toFixed(1)} s`,
    );

    const collections = await floorCollections(info);
    const selectors = new Map(collections.map((c) => [c.path, c.selector]));
    const baselineEnv = { kubeconfig: info.kubeconfig, env };
    log("floor: raw LISTs with kubectl get --raw");
    const floor: FloorResult = await measureFloor(baselineEnv, collections, {
      labelSelector: (c) => selectors.get(c.path),
    });

    log("exporter: cold scan, then warm scans of the unchanged cluster");
    const exporter = await startExporter({
      exporterDir: path.resolve(values["exporter-dir"]),
      kubeconfig: info.kubeconfig,
      logFile: path.join(workDir, `exporter-${String(releases)}.log`),
      intervalSeconds: int("scan-interval"),
    });
    let cold: ScanReading;
    const warm: ScanReading[] = [];
    const scrapes: ScrapeResult[] = [];
    let exporterReleases: ReleaseJson[];
    let peakRssBytes: number;
    try {
      cold = await exporter.nextScan(15 * 60_000);
      for (let i = 0; i < int("warm-scans"); i++) warm.push(await exporter.nextScan(15 * 60_000));
      log("scraping /metrics");
      // By default each load runs for two scan intervals, so at least one whole scan runs under it.
      const seconds = values["scrape-seconds"] ? int("scrape-seconds") : 2 * int("scan-interval");
      for (const concurrency of values["scrape-concurrency"].split(",").map(Number))
        scrapes.push(await exporter.scrape({ concurrency, ratePerSecond: int("scrape-rate"), seconds }));
      exporterReleases = (JSON.parse(await exporter.get("/api/v1/releases")) as { releases: ReleaseJson[] })
        .releases;
      peakRssBytes = exporter.peakRssBytes();
    } finally {
      await exporter.stop();
    }

    const sample = sampleOf(populated.releases, int("diff-sample"));
    log(`kubectl diff loop over ${String(sample.length)} releases`);
    const kubectlDiff: DiffLoopResult = await kubectlDiffLoop(baselineEnv, sample);
    const helmDiff: DiffLoopResult = await helmDiffLoop(baselineEnv, sample, populated.chart);

    return {
      releases,
      objects: populated.objects,
      releaseSecrets: populated.releaseSecrets,
      populateSeconds: populated.seconds,
      populatedDrifted: populated.releases.filter((r) => r.drifted).length,
      populatedFailed: populated.releases.filter((r) => r.failed).length,
      floor,
      cold,
      warm,
      scrapes,
      peakRssBytes,
      kubectlDiff,
      helmDiff,
      exporterDrifted: exporterReleases
        .filter((r) => r.drift && !r.drift.inSync)
        .map((r) => `${r.namespace}/${r.release}`),
      exporterReleases: exporterReleases.length,
      truth: populated.releases.map((r) => ({
        key: `${r.namespace}/${r.name}`,
        drifted: r.drifted,
        failed: r.failed,
      })),
    };
  } finally {
    await stopCluster(dir);
  }
}

async function main(): Promise<void> {
  const build = spawnSync("bash", [path.join(repoRoot, "scripts/build-binaries.sh")], { stdio: "inherit" });
  if (build.status !== 0) throw new Error("building the control-plane binaries failed");
  // The exporter runs compiled, as the container image runs it (type stripping alone costs ~20 MB RSS).
  const exporterDir = path.resolve(values["exporter-dir"]);
  const tsc = spawnSync(
    path.join(repoRoot, "node_modules/.bin/tsc"),
    ["-p", path.join(exporterDir, "tsconfig.build.json")],
    { stdio: "inherit" },
  );
  if (tsc.status !== 0) throw new Error(`building the exporter in ${exporterDir} failed`);
  // helm-diff is optional: where its module cannot be fetched or built, the report says why.
  spawnSync("bash", [path.join(repoRoot, "scripts/build-helm-diff.sh")], { stdio: "inherit" });

  const sizes = values.releases.split(",").map((size) => {
    const n = Number(size);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--releases: ${size} is not a release count`);
    return n;
  });
  const workDir = mkdtempSync(path.join(os.tmpdir(), "hde-bench-"));
  const results: SizeResult[] = [];
  try {
    for (const size of sizes) results.push(await measureSize(size, workDir));
  } finally {
    if (!values["keep-dir"]) rmSync(workDir, { recursive: true, force: true });
    else log(`kept ${workDir}`);
  }
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    memoryBytes: os.totalmem(),
    node: process.version,
    exporterDir: path.resolve(values["exporter-dir"]),
    exporterCommit: spawnSync("git", ["-C", path.resolve(values["exporter-dir"]), "rev-parse", "HEAD"], {
      encoding: "utf8",
    }).stdout.trim(),
  };
  const report = markdownReport(results, machine);
  process.stdout.write(report.markdown);
  writeFileSync(values.out, `${JSON.stringify({ machine, ...report.json }, null, 2)}\n`);
  log(`wrote ${values.out}`);
}

await main();
