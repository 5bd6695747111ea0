/** The real helm v3, helm v4 and kubectl binaries of the control plane, run as a user would. */
import { execFile } from "node:child_process";
import path from "node:path";
import { CHART_DIR, revisionValues } from "./plan.ts";

export interface Tools {
  readonly kubeconfig: string;
  readonly binDir: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface ToolRun {
  readonly code: number;
  readonly output: string;
}

export type HelmMajor = "v3" | "v4";

/** Runs a binary from binDir with the cluster's environment; never rejects on a non-zero exit. */
export function runTool(
  tools: Tools,
  binary: "helm" | "helm4" | "kubectl",
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(tools.binDir, binary),
      [...args, "--kubeconfig", tools.kubeconfig],
      { env: { ...process.env, ...tools.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(new Error(`${binary} could not run: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ code: typeof error?.code === "number" ? error.code : 0, output: stdout + stderr });
      },
    );
  });
}

export async function mustRun(
  tools: Tools,
  binary: "helm" | "helm4" | "kubectl",
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<string> {
  const result = await runTool(tools, binary, args, env);
  if (result.code !== 0) {
    throw new Error(`${binary} ${args.join(" ")} failed (${String(result.code)}):\n${result.output}`);
  }
  return result.output;
}

export interface HelmReleaseSpec {
  readonly namespace: string;
  readonly name: string;
  readonly revisions: number;
  readonly failed: boolean;
}

/**
 * Makes a release with real helm: an install, then upgrades with each revision's values;
 * for a failed release the last upgrade is one the apiserver refuses.
 */
export async function helmRelease(tools: Tools, major: HelmMajor, spec: HelmReleaseSpec): Promise<void> {
  const binary = major === "v3" ? "helm" : "helm4";
  for (let revision = 1; revision <= spec.revisions; revision++) {
    const failing = spec.failed && revision === spec.revisions;
    const args = [
      revision === 1 ? "install" : "upgrade",
      spec.name,
      CHART_DIR,
      "-n",
      spec.namespace,
      "--set",
      revisionValues(revision, failing),
    ];
    const result = await runTool(tools, binary, args);
    if (failing) {
      if (result.code === 0) throw new Error(`${binary} ${args.join(" ")} was expected to fail`);
      if (!result.output.includes("UPGRADE FAILED")) {
        throw new Error(`${binary} ${args.join(" ")} failed unexpectedly:\n${result.output}`);
      }
    } else if (result.code !== 0) {
      throw new Error(`${binary} ${args.join(" ")} failed (${String(result.code)}):\n${result.output}`);
    }
  }
}
