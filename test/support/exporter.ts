/** Runs the real exporter CLI (scan or serve) against the test control plane. */
import { spawn } from "node:child_process";
import path from "node:path";
import { repoRoot } from "../../controlplane/binaries.ts";
import { pollUntil } from "./poll.ts";
import { runProcess, type Exit } from "./processes.ts";

const MAIN = path.join(repoRoot, "src/cli/main.ts");

export type ScanRun = Exit;

export function runExporter(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ScanRun> {
  return runProcess(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env } });
}

/** An object as the JSON names it: in rollback blockers, reverted fields and takeovers. */
export interface ObjectJson {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
}

/** What a bare `helm rollback` would meet (docs/scan-output.md). */
export interface RollbackJson {
  targetRevision: number | null;
  targetStatus: string | null;
  applyMethod: "ssa" | "csa" | null;
  ready: boolean;
  blockers: { reason: string; object: ObjectJson | null; message: string; leaves: string | null }[];
  reverted: { object: ObjectJson; path: string; managers: string[] }[];
  takenOver: { object: ObjectJson; owner: string }[];
}

export interface ReleaseJson {
  namespace: string;
  release: string;
  storage: string;
  chart: { name: string; version: string; appVersion: string } | null;
  status: string;
  description: string | null;
  revision: number;
  deployedRevision: number | null;
  revisions: number;
  failedRevisions: number;
  lastDeployed: string | null;
  applyMethod: string | null;
  needsAttention: boolean;
  unreadable: { revision: number; reason: string; message: string } | null;
  drift: {
    baseRevision: number;
    baseIsDeployed: boolean;
    managedResources: number;
    inSync: boolean;
    modified: number;
    added: number;
    missing: number;
    driftedFields: number;
    unchecked: Record<string, number>;
    since: string | null;
    ignored: Record<string, number>;
    resources: {
      apiVersion: string;
      kind: string;
      namespace: string | null;
      name: string;
      state: string;
      uncheckedReason: string | null;
      message: string | null;
      since: string | null;
      managers: { manager: string; operation: string; subresource: string | null; time: string | null }[];
      fields: { path: string; change: string; declared: unknown; live: unknown; managers: string[] }[];
    }[];
  } | null;
  driftError: string | null;
  hooks: {
    orphaned: { kind: string; namespace: string | null; name: string; reason: string; revision: number }[];
    running: {
      kind: string;
      namespace: string | null;
      name: string;
      state: string;
      revision: number;
      startedAt: string | null;
    }[];
    leftovers: { kind: string; namespace: string | null; name: string; reason: string }[];
    terminating: { kind: string; namespace: string | null; name: string; finalizers: string[] }[];
  } | null;
  /** null: readiness not checked. */
  rollback: RollbackJson | null;
  upgrade: { blocked: boolean; reasons: { reason: string; message: string; since: string | null }[] } | null;
  unservedApiRevisions: number[] | null;
  history: { revision: number; status: string; updated: string | null }[];
}

export interface ScanJson {
  schemaVersion: number;
  scan: { success: boolean; collectors: { name: string; success: boolean; errors: string[] }[] };
  summary: { releases: number; needingAttention: number };
  releases: ReleaseJson[];
  unreferencedHooks: { kind: string; namespace: string | null; name: string; hook: string }[];
  goneReleases: {
    namespace: string;
    release: string;
    leftovers: { kind: string; namespace?: string; name: string; reason: string }[];
  }[];
}

/** Drifted fields by `Kind/name path`, with their change and managers. */
export function driftedFields(
  drift: NonNullable<ReleaseJson["drift"]>,
): Record<string, { change: string; managers: string[] }> {
  return Object.fromEntries(
    drift.resources.flatMap((resource) =>
      resource.fields.map((field) => [
        `${resource.kind}/${resource.name} ${field.path}`,
        { change: field.change, managers: field.managers },
      ]),
    ),
  );
}

/** `scan --output json` over the given namespaces; returns the exit code and parsed output. */
export async function scanJson(
  namespaces: readonly string[],
  extraArgs: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
) {
  const run = await runExporter(
    ["scan", "--output", "json", "--namespaces", namespaces.join(","), ...extraArgs],
    env,
  );
  let json: ScanJson;
  try {
    json = JSON.parse(run.stdout) as ScanJson;
  } catch {
    throw new Error(`scan printed no JSON (exit ${String(run.code)}):\n${run.stdout}\n${run.stderr}`);
  }
  const release = (name: string): ReleaseJson => {
    const found = json.releases.find((candidate) => candidate.release === name);
    if (!found)
      throw new Error(`release ${name} not in scan: ${json.releases.map((r) => r.release).join(", ")}`);
    return found;
  };
  return { code: run.code, json, stderr: run.stderr, release };
}

export interface Server {
  readonly url: string;
  readonly logs: () => string;
  stop(): Promise<number | null>;
}

/** Starts `serve` on a free loopback port and waits until it listens. */
export async function startServer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const child = spawn(process.execPath, [MAIN, "serve", "--web.listen-address", "127.0.0.1:0", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let logs = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      logs += chunk.toString();
      const port = /"address":"[^"]*:(\d+)"/.exec(logs)?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    });
    void exited.then((code) => {
      reject(new Error(`exporter exited (${String(code)}) before listening:\n${logs}`));
    });
  });
  return {
    url,
    logs: () => logs,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Waits until the server has finished its first scan. */
export async function waitReady(server: Server): Promise<void> {
  await pollUntil("the exporter's first scan", async () =>
    (await fetch(`${server.url}/readyz`)).ok ? true : undefined,
  );
}

/** Metrics as `serve` exposes them after its first scan. */
export async function scrapeAfterFirstScan(args: readonly string[]): Promise<string> {
  const server = await startServer(args);
  try {
    await waitReady(server);
    return await (await fetch(`${server.url}/metrics`)).text();
  } finally {
    await server.stop();
  }
}
