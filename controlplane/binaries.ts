import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "..");

export interface Versions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly helm3: string;
  readonly helm4: string;
  readonly promtoolDebian: string;
}

/** KEY=VALUE lines of scripts/versions.env, the file the build scripts source. */
function versionsEnv(): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of readFileSync(path.join(repoRoot, "scripts/versions.env"), "utf8").split("\n")) {
    const match = /^([A-Z0-9_]+)=(\S+)/.exec(line.trim());
    if (match?.[1] && match[2]) env.set(match[1], match[2]);
  }
  return env;
}

/** The pinned versions, read from the same file the build script uses. */
export function readVersions(): Versions {
  const env = versionsEnv();
  const get = (key: string): string => {
    const value = env.get(key);
    if (!value) throw new Error(`scripts/versions.env does not set ${key}`);
    return value;
  };
  return {
    kubernetes: get("KUBERNETES_VERSION"),
    etcd: get("ETCD_VERSION"),
    helm3: get("HELM3_VERSION"),
    helm4: get("HELM4_VERSION"),
    promtoolDebian: get("PROMTOOL_DEBIAN_VERSION"),
  };
}

export function cacheDir(): string {
  return process.env.HDE_CACHE_DIR ?? path.join(homedir(), ".cache", "helm-drift-exporter");
}

export interface Binaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
  readonly kubectl: string;
  readonly helm3: string;
  readonly helm4: string;
  readonly promtool: string;
}

export function resolveBinaries(versions = readVersions()): Binaries {
  const dir = path.join(cacheDir(), "bin");
  const binaries: Binaries = {
    kubeApiserver: path.join(dir, `kube-apiserver-${versions.kubernetes}`),
    etcd: path.join(dir, `etcd-${versions.etcd}`),
    kubectl: path.join(dir, `kubectl-${versions.kubernetes}`),
    helm3: path.join(dir, `helm-${versions.helm3}`),
    helm4: path.join(dir, `helm-${versions.helm4}`),
    promtool: path.join(dir, `promtool-${versions.promtoolDebian}`),
  };
  const missing = (Object.values(binaries) as string[]).filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(`missing binaries ${missing.join(", ")}: run \`npm run binaries\` first`);
  }
  return binaries;
}

export interface MonitoringBinaries {
  readonly prometheus: string;
  readonly promtool: string;
  readonly alertmanager: string;
}

/** Prometheus 3, promtool and Alertmanager built by scripts/build-monitoring.sh. */
export function resolveMonitoringBinaries(): MonitoringBinaries {
  const env = versionsEnv();
  const dir = path.join(cacheDir(), "bin");
  const prometheusVersion = env.get("PROMETHEUS_VERSION") ?? "";
  const binaries: MonitoringBinaries = {
    prometheus: path.join(dir, `prometheus-${prometheusVersion}`),
    promtool: path.join(dir, `promtool-${prometheusVersion}`),
    alertmanager: path.join(dir, `alertmanager-${env.get("ALERTMANAGER_VERSION") ?? ""}`),
  };
  const missing = (Object.values(binaries) as string[]).filter((file) => !existsSync(file));
  if (missing.length > 0) throw new Error(`missing ${missing.join(", ")}: run \`npm run binaries\``);
  return binaries;
}
