import { readFileSync } from "node:fs";
import path from "node:path";

/** What a running control plane tells its users; written as cluster.json in its directory. */
export interface ClusterInfo {
  readonly dir: string;
  readonly server: string;
  readonly kubeconfig: string;
  readonly envFile: string;
  readonly binDir: string;
  readonly caFile: string;
  readonly kubernetesVersion: string;
  readonly supervisorPid: number;
  readonly admin: Identity;
  /** Authenticated but bound to no role: tests grant it exactly what the exporter's RBAC grants. */
  readonly unprivileged: Identity;
  /** The fault channel (controlplane/faults.ts), only on a control plane started with `faults: true`. */
  readonly faults?: { readonly url: string; readonly token: string };
}

export interface Identity {
  readonly user: string;
  readonly token: string;
  readonly context: string;
}

export const CLUSTER_INFO_FILE = "cluster.json";

export function readClusterInfo(dir: string): ClusterInfo {
  return JSON.parse(readFileSync(path.join(dir, CLUSTER_INFO_FILE), "utf8")) as ClusterInfo;
}

/** Environment that makes kubectl/helm/helm4 and the kubeconfig of this cluster the defaults. */
export function clusterEnv(info: ClusterInfo): Record<string, string> {
  return {
    KUBECONFIG: info.kubeconfig,
    PATH: `${info.binDir}:${process.env.PATH ?? ""}`,
    HELM_CONFIG_HOME: path.join(info.dir, "helm/config"),
    HELM_CACHE_HOME: path.join(info.dir, "helm/cache"),
    HELM_DATA_HOME: path.join(info.dir, "helm/data"),
    HDE_CLUSTER_DIR: info.dir,
  };
}
