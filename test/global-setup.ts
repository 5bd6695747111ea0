/**
 * One real control plane per test run (node --test --test-global-setup). Test files
 * run in child processes that inherit the environment set here: KUBECONFIG, PATH with
 * kubectl/helm/helm4, HELM_* homes, and HDE_CLUSTER_DIR for test/support/cluster.ts.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { clusterEnv } from "../controlplane/cluster-info.ts";
import { startCluster, stopCluster } from "../controlplane/control.ts";

let dir: string | undefined;

export async function globalSetup(): Promise<void> {
  dir = mkdtempSync(path.join(tmpdir(), "hde-test-cluster-"));
  const started = Date.now();
  const info = await startCluster({ dir, parentPid: process.pid });
  Object.assign(process.env, clusterEnv(info));
  process.stderr.write(
    `# control plane ${info.kubernetesVersion} at ${info.server} ready in ${String(Date.now() - started)} ms\n`,
  );
}

export async function globalTeardown(): Promise<void> {
  if (dir) await stopCluster(dir);
}
