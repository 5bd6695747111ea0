/**
 * Real Helm scenarios on the test control plane, shared by the integration tests and
 * `npm run demo`: installs, failed upgrades and a release stuck in pending-upgrade.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { BatchV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { repoRoot } from "../../controlplane/binaries.ts";
import { finishJob } from "./kubelet.ts";
import { orUndefined, pollUntil } from "./poll.ts";

export const HELM_BINARIES = { v3: "helm", v4: "helm4" } as const;
export type HelmMajor = keyof typeof HELM_BINARIES;
export const HELM_MAJORS: readonly HelmMajor[] = ["v3", "v4"];

export function fixtureChart(name: string): string {
  return path.join(repoRoot, "test/fixtures/charts", name);
}

export interface HelmRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

export interface HelmProcess {
  readonly done: Promise<HelmRun>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts helm with the cluster's environment (KUBECONFIG, PATH) plus `env`. */
export function startHelm(
  major: HelmMajor,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): HelmProcess {
  const child = spawn(HELM_BINARIES[major], args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<HelmRun>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      resolve({ exitCode, signal, output });
    });
  });
  return { done, kill: (signal) => child.kill(signal) };
}

/** Runs helm to completion; rejects with its output unless it exits 0. */
export async function helm(
  major: HelmMajor,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const result = await startHelm(major, args, env).done;
  if (result.exitCode !== 0)
    throw new Error(`helm ${args.join(" ")} failed (${String(result.exitCode)}):\n${result.output}`);
  return result.output;
}

/** Runs helm expecting it to fail; returns its output. */
export async function helmFails(
  major: HelmMajor,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const result = await startHelm(major, args, env).done;
  if (result.exitCode === 0)
    throw new Error(`helm ${args.join(" ")} succeeded but was expected to fail:\n${result.output}`);
  return result.output;
}

/** An upgrade the apiserver rejects (an invalid object name): leaves a failed revision. */
export function failUpgrade(
  major: HelmMajor,
  release: string,
  namespace: string,
  env: NodeJS.ProcessEnv = {},
) {
  return helmFails(
    major,
    ["upgrade", release, fixtureChart("smoke"), "-n", namespace, "--set", "invalid=true"],
    env,
  );
}

/** Polls until a release revision's storage object carries the given status label. */
export async function waitForRevisionStatus(
  kubeConfig: KubeConfig,
  namespace: string,
  release: string,
  revision: number,
  status: string,
): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const labelSelector = `owner=helm,name=${release},version=${String(revision)}`;
  await pollUntil(`${namespace}/${release} v${String(revision)} to be ${status}`, async () => {
    const list = await core.listNamespacedSecret({ namespace, labelSelector });
    return list.items.some((secret) => secret.metadata?.labels?.status === status) ? true : undefined;
  });
}

/**
 * Leaves a release stuck in pending-upgrade the way it happens in production: helm is
 * killed (SIGKILL) while it waits for a post-upgrade hook Job. Installs the release
 * first (revision 1, its hook completed by the test kubelet).
 */
export async function leavePendingUpgrade(
  kubeConfig: KubeConfig,
  major: HelmMajor,
  release: string,
  namespace: string,
) {
  const chart = fixtureChart("hook-job");
  const install = startHelm(major, ["install", release, chart, "-n", namespace, "--timeout", "2m"]);
  await finishJob(kubeConfig, namespace, `${release}-migrate`, "Complete");
  const installed = await install.done;
  if (installed.exitCode !== 0) throw new Error(`install failed: ${installed.output}`);
  const upgrade = startHelm(major, ["upgrade", release, chart, "-n", namespace, "--timeout", "5m"]);
  await waitForRevisionStatus(kubeConfig, namespace, release, 2, "pending-upgrade");
  await waitForFreshJob(kubeConfig, namespace, `${release}-migrate`);
  upgrade.kill("SIGKILL");
  await upgrade.done;
}

/** Waits for a Job that has not started yet: the hook helm re-created and now waits on. */
async function waitForFreshJob(kubeConfig: KubeConfig, namespace: string, name: string): Promise<void> {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  await pollUntil(`hook Job ${namespace}/${name} to be re-created`, async () => {
    const job = await orUndefined(() => batch.readNamespacedJob({ name, namespace }));
    return job && !job.status?.conditions?.length ? true : undefined;
  });
}
