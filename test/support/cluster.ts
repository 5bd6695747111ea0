/**
 * Helpers for tests against a control plane: by default the one test/global-setup.ts starts
 * for the run (HDE_CLUSTER_DIR); pass a private one's ClusterInfo (private-cluster.ts) to act
 * on that instead.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1PolicyRule,
  type V1ResourceAttributes,
} from "@kubernetes/client-node";
import { readClusterInfo, type ClusterInfo } from "../../controlplane/cluster-info.ts";
import { kubeconfigYaml } from "../../controlplane/kubeconfig.ts";
import { pollUntil } from "./poll.ts";

const execFileAsync = promisify(execFile);

export type Context = "admin" | "unprivileged";

export function clusterInfo(): ClusterInfo {
  const dir = process.env.HDE_CLUSTER_DIR;
  if (!dir)
    throw new Error("HDE_CLUSTER_DIR is not set: run tests with `npm test` (it starts the control plane)");
  return readClusterInfo(dir);
}

export function kubeConfig(context: Context = "admin", info: ClusterInfo = clusterInfo()): KubeConfig {
  return loadKubeConfig(info.kubeconfig, context);
}

export function loadKubeConfig(file: string, context: Context = "admin"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  kc.setCurrentContext(context);
  return kc;
}

/**
 * Writes a kubeconfig like the cluster's, with both identities, that reaches the apiserver at
 * `server` instead (a TcpProxy's url: the serving certificate covers 127.0.0.1 on any port).
 * The file lives in the cluster's directory and goes with it.
 */
export function writeKubeconfigVia(server: string, info: ClusterInfo = clusterInfo()): string {
  const file = path.join(
    info.dir,
    `kubeconfig-via-${new URL(server).port}-${randomBytes(3).toString("hex")}`,
  );
  writeFileSync(file, kubeconfigYaml(server, info.caFile, [info.admin, info.unprivileged]), { mode: 0o600 });
  return file;
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
export async function createNamespace(prefix: string, info: ClusterInfo = clusterInfo()): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await kubeConfig("admin", info)
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name } } });
  return name;
}

function rbacApi(info: ClusterInfo): RbacAuthorizationV1Api {
  return kubeConfig("admin", info).makeApiClient(RbacAuthorizationV1Api);
}

/** Grants the unprivileged identity exactly these rules in one namespace (a Role and its binding). */
export async function grantUnprivileged(
  namespace: string,
  name: string,
  rules: V1PolicyRule[],
  info: ClusterInfo = clusterInfo(),
): Promise<void> {
  const rbac = rbacApi(info);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: info.unprivileged.user }],
    },
  });
}

/** Narrows (or widens) a grant made by grantUnprivileged to exactly these rules. */
export async function replaceUnprivilegedGrant(
  namespace: string,
  name: string,
  rules: V1PolicyRule[],
  info: ClusterInfo = clusterInfo(),
): Promise<void> {
  const rbac = rbacApi(info);
  const role = await rbac.readNamespacedRole({ name, namespace });
  role.rules = rules;
  await rbac.replaceNamespacedRole({ name, namespace, body: role });
}

/** Takes back a grant made by grantUnprivileged (its Role and RoleBinding). */
export async function revokeUnprivileged(
  namespace: string,
  name: string,
  info: ClusterInfo = clusterInfo(),
): Promise<void> {
  const rbac = rbacApi(info);
  await rbac.deleteNamespacedRoleBinding({ name, namespace });
  await rbac.deleteNamespacedRole({ name, namespace });
}

/**
 * Waits until the apiserver's authorizer answers `allowed` for the unprivileged identity: RBAC
 * changes reach it through an informer, a moment after the write returns.
 */
export async function waitForUnprivilegedAccess(
  attributes: V1ResourceAttributes,
  allowed: boolean,
  info: ClusterInfo = clusterInfo(),
): Promise<void> {
  const authorization = kubeConfig("unprivileged", info).makeApiClient(AuthorizationV1Api);
  await pollUntil(
    `the unprivileged identity ${allowed ? "may" : "may not"} ${JSON.stringify(attributes)}`,
    async () => {
      const review = await authorization.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: attributes } },
      });
      return review.status?.allowed === allowed ? true : undefined;
    },
  );
}
