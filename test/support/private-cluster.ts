/**
 * A control plane of a test's own, with the fault channel: the shared control plane of a test
 * run (test/global-setup.ts) is never stopped, paused or throttled, since other test files use
 * it at the same time. Starting one costs etcd + kube-apiserver startup; share it between the
 * tests of one file (before/after).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { clusterEnv, type ClusterInfo } from "../../controlplane/cluster-info.ts";
import { startCluster, stopCluster } from "../../controlplane/control.ts";
import { Faults } from "../../controlplane/faults.ts";
import { kubeConfig, type Context } from "./cluster.ts";

export interface PrivateControlPlane {
  readonly info: ClusterInfo;
  readonly faults: Faults;
  /** KUBECONFIG, PATH (kubectl, helm, helm4) and HELM_* homes for this control plane. */
  readonly env: Record<string, string>;
  kubeConfig(context?: Context): KubeConfig;
  stop(): Promise<void>;
}

export async function startPrivateControlPlane(): Promise<PrivateControlPlane> {
  const dir = mkdtempSync(path.join(tmpdir(), "hde-private-cluster-"));
  const info = await startCluster({ dir, parentPid: process.pid, faults: true });
  return {
    info,
    faults: new Faults(info),
    env: clusterEnv(info),
    kubeConfig: (context = "admin") => kubeConfig(context, info),
    stop: () => stopCluster(dir),
  };
}
