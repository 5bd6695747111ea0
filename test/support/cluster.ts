/** Helpers for tests that run against the control plane started by test/global-setup.ts. */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from "@kubernetes/client-node";
import { readClusterInfo, type ClusterInfo } from "../../controlplane/cluster-info.ts";

const execFileAsync = promisify(execFile);

export function clusterInfo(): ClusterInfo {
  const dir = process.env.HDE_CLUSTER_DIR;
  if (!dir)
    throw new Error("HDE_CLUSTER_DIR is not set: run tests with `npm test` (it starts the control plane)");
  return readClusterInfo(dir);
}

export function kubeConfig(context: "admin" | "unprivileged" = "admin"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterInfo().kubeconfig);
  kc.setCurrentContext(context);
  return kc;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with the cluster's environment; rejects with its output on a non-zero exit. */
export async function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr } satisfies RunResult;
  } catch (error) {
    const failure = error as Error & Partial<RunResult>;
    throw new Error(
      `${command} ${args.join(" ")} failed: ${failure.message}\n${failure.stdout ?? ""}${failure.stderr ?? ""}`,
      { cause: error },
    );
  }
}

/** Writes the lines to `name` in a fresh temporary directory (a values or config file); returns its path. */
export function tempFile(name: string, lines: readonly string[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hde-test-")), name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

/** A fresh namespace per test: without a controller manager namespaces are never deleted. */
export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Grants the unprivileged identity exactly these rules in one namespace (a Role and its binding). */
export async function grantUnprivileged(
  namespace: string,
  name: string,
  rules: V1PolicyRule[],
): Promise<void> {
  const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [
        { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: clusterInfo().unprivileged.user },
      ],
    },
  });
}
