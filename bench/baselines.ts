/**
 * The benchmark's baselines: "the usual way" tools detect Helm drift, run against the
 * same releases as the exporter so both are measured in one run.
 *
 * - The floor ({@link measureFloor}): raw LISTs of the same collections with
 *   `kubectl get --raw`, one process per page. No tool that looks at every object can
 *   read less.
 * - `kubectl diff` ({@link kubectlDiffLoop}): per release, `helm get manifest` piped into
 *   `kubectl diff`, one release after the other, as a cron script does.
 * - helm-diff ({@link helmDiffLoop}): per release, `helm diff upgrade --three-way-merge`
 *   with the plugin built by scripts/build-helm-diff.sh, where it builds.
 *
 * Every tool is the real binary, spawned as a script would spawn it, with the cluster's
 * environment (`clusterEnv(info)`: PATH with kubectl/helm, KUBECONFIG, HELM_* homes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { cacheDir, repoRoot } from "../controlplane/binaries.ts";

export interface BaselineEnv {
  readonly kubeconfig: string;
  /** clusterEnv(info): PATH with kubectl/helm, KUBECONFIG, HELM_* dirs. Laid over process.env. */
  readonly env: Record<string, string>;
}

/** A collection to LIST, e.g. `{ path: "/apis/apps/v1/deployments", resource: "deployments" }`. */
export interface Collection {
  readonly path: string;
  readonly resource: string;
}

export interface FloorResult {
  readonly seconds: number;
  readonly requests: number;
  readonly bytes: number;
  readonly perCollection: readonly { path: string; seconds: number; bytes: number; items: number }[];
}

export interface ReleaseId {
  readonly namespace: string;
  readonly name: string;
}

export interface DiffLoopResult {
  readonly tool: "kubectl-diff" | "helm-diff";
  readonly available: boolean;
  readonly unavailableReason?: string;
  readonly releases: number;
  readonly seconds: number;
  readonly perRelease: readonly {
    namespace: string;
    name: string;
    drifted: boolean | "error";
    seconds: number;
    error?: string;
  }[];
}

/** What each loop runs per release, for the benchmark's report. */
export const INVOCATIONS = {
  floor: "kubectl get --raw '<path>?limit=500[&labelSelector=...][&continue=...]'",
  "kubectl-diff": 'helm get manifest "$release" -n "$ns" | kubectl diff -n "$ns" -f -',
  "helm-diff":
    'HELM_PLUGINS=<dir> helm diff upgrade "$release" <chart> -n "$ns" --reuse-values --three-way-merge --detailed-exitcode --no-color',
} as const;

const DEFAULT_PAGE_SIZE = 500;

/**
 * The floor: what a minimal tool must read. One `kubectl get --raw` per page of each
 * collection (full objects, not metadata-only; `limit` pages, `continue` tokens
 * followed), run sequentially; the time is the wall time of all of them, the bytes the
 * response bodies. Throws if a request fails: a floor with holes is no floor.
 */
export async function measureFloor(
  env: BaselineEnv,
  collections: readonly Collection[],
  options: { labelSelector?: (c: Collection) => string | undefined; pageSize?: number } = {},
): Promise<FloorResult> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const processEnv = envFor(env);
  const perCollection: { path: string; seconds: number; bytes: number; items: number }[] = [];
  let requests = 0;
  const started = performance.now();
  for (const collection of collections) {
    const collectionStarted = performance.now();
    const selector = options.labelSelector?.(collection);
    let bytes = 0;
    let items = 0;
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(pageSize) });
      if (selector) query.set("labelSelector", selector);
      if (token) query.set("continue", token);
      const url = `${collection.path}${collection.path.includes("?") ? "&" : "?"}${query.toString()}`;
      const result = await runToEnd("kubectl", ["get", "--raw", url], processEnv);
      requests++;
      if (result.code !== 0) {
        throw new Error(`kubectl get --raw '${url}' failed (${exitText(result)}): ${tail(result.stderr)}`);
      }
      bytes += result.stdout.length;
      const page = parseList(result.stdout, url);
      items += page.items;
      token = page.continue;
    } while (token);
    perCollection.push({ path: collection.path, seconds: secondsSince(collectionStarted), bytes, items });
  }
  return {
    seconds: secondsSince(started),
    requests,
    bytes: perCollection.reduce((sum, c) => sum + c.bytes, 0),
    perCollection,
  };
}

/**
 * For each release, sequentially: `helm get manifest <r> -n <ns> | kubectl diff -n <ns> -f -`.
 * kubectl diff exits 0 when nothing differs, 1 when something does, >1 on error.
 *
 * `-n` on kubectl diff is required: helm's manifest leaves namespaced objects without a
 * namespace (helm installs them into `-n`), so without it kubectl diff compares them with
 * the kubeconfig's default namespace and reports every object as new. (A chart that puts
 * objects in another namespace than the release's makes kubectl diff fail: an "error".)
 *
 * kubectl diff applies the manifest to the live object (client-side apply patch, server
 * dry-run) and diffs live against the result: it finds fields the chart sets that were
 * changed or removed, and deleted objects; it does not see fields added to a live object
 * that the chart does not set (a new label, a new env var in a container). It also reports
 * `spec.replicas` changed by an HPA, which the exporter ignores by default.
 */
export async function kubectlDiffLoop(
  env: BaselineEnv,
  releases: readonly ReleaseId[],
  options: { helm?: string } = {},
): Promise<DiffLoopResult> {
  const helm = options.helm ?? "helm";
  const processEnv = envFor(env);
  // kubectl diff runs $KUBECTL_EXTERNAL_DIFF, or `diff -u -N`: without it every release errors.
  const externalDiff = processEnv.KUBECTL_EXTERNAL_DIFF?.trim().split(/\s+/)[0] ?? "diff";
  const missing = [helm, "kubectl", externalDiff].filter((command) => !onPath(command, processEnv));
  if (missing.length > 0) {
    return unavailable("kubectl-diff", releases, `not found on PATH: ${missing.join(", ")}`);
  }
  return loop("kubectl-diff", releases, async (release) => {
    const { namespace, name } = release;
    const result = await pipeToEnd(
      [helm, ["get", "manifest", name, "-n", namespace]],
      ["kubectl", ["diff", "-n", namespace, "-f", "-"]],
      processEnv,
    );
    if (result.first.code !== 0) {
      return {
        drifted: "error",
        error: `helm get manifest: ${exitText(result.first)}: ${tail(result.first.stderr)}`,
      };
    }
    if (result.second.code === 0) return { drifted: false };
    if (result.second.code === 1) return { drifted: true };
    return {
      drifted: "error",
      error: `kubectl diff: ${exitText(result.second)}: ${tail(result.second.stderr)}`,
    };
  });
}

/**
 * The same with the helm-diff plugin, where it built (scripts/build-helm-diff.sh):
 * `helm diff upgrade <r> <chart> -n <ns> --reuse-values --three-way-merge --detailed-exitcode`.
 *
 * `--three-way-merge` is what makes it look at the cluster: without it helm-diff compares
 * the chart rendered now with the manifest stored in the release record, so a `kubectl`
 * change is invisible to it. With it, helm-diff GETs each live object, builds the
 * three-way patch (stored manifest, rendered manifest, live object), applies it with a
 * server dry-run and diffs the live object against that result, so live changes to fields
 * the chart sets show up. `--reuse-values` renders the chart with the release's own
 * values, so against the chart that was deployed only live drift is left to show.
 * `--detailed-exitcode` makes it exit 2 when it sees a change (0 none, anything else an
 * error; helm passes the plugin's exit code on).
 */
export async function helmDiffLoop(
  env: BaselineEnv,
  releases: readonly ReleaseId[],
  chart: string,
  pluginsDir: string = helmDiffPluginsDir(),
  options: { helm?: string } = {},
): Promise<DiffLoopResult> {
  const helm = options.helm ?? "helm";
  const processEnv = { ...envFor(env), HELM_PLUGINS: pluginsDir };
  const reason = helmDiffUnavailable(pluginsDir, helm, processEnv);
  if (reason !== undefined) return unavailable("helm-diff", releases, reason);
  const probe = await runToEnd(helm, ["diff", "version"], processEnv);
  if (probe.code !== 0) {
    return unavailable("helm-diff", releases, `helm diff version: ${exitText(probe)}: ${tail(probe.stderr)}`);
  }
  return loop("helm-diff", releases, async ({ namespace, name }) => {
    const result = await runToEnd(
      helm,
      [
        "diff",
        "upgrade",
        name,
        chart,
        "-n",
        namespace,
        "--reuse-values",
        "--three-way-merge",
        "--detailed-exitcode",
        "--no-color",
      ],
      processEnv,
      { keepStdout: false },
    );
    if (result.code === 0) return { drifted: false };
    if (result.code === 2) return { drifted: true };
    return { drifted: "error", error: `helm diff upgrade: ${exitText(result)}: ${tail(result.stderr)}` };
  });
}

/** Where scripts/build-helm-diff.sh lays out the plugin (its `--print-path`). */
export function helmDiffPluginsDir(): string {
  return path.join(cacheDir(), "bin", `helm-diff-${helmDiffVersion()}.plugins`);
}

function helmDiffVersion(): string {
  const file = readFileSync(path.join(repoRoot, "scripts/versions.env"), "utf8");
  const version = /^HELM_DIFF_VERSION=(\S+)/m.exec(file)?.[1];
  if (!version) throw new Error("scripts/versions.env does not set HELM_DIFF_VERSION");
  return version;
}

/** Why the plugin cannot run, or undefined when its files are in place. */
function helmDiffUnavailable(pluginsDir: string, helm: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!onPath(helm, env)) return `${helm} not found on PATH`;
  const plugin = path.join(pluginsDir, "diff");
  if (existsSync(path.join(plugin, "plugin.yaml")) && executable(path.join(plugin, "bin/diff"))) return;
  // The build script leaves its reason beside the plugin directory: <dir minus .plugins>.unavailable.
  const reasonFile = pluginsDir.replace(/\.plugins\/?$/, "") + ".unavailable";
  const built = existsSync(reasonFile) ? readFileSync(reasonFile, "utf8").trim() : undefined;
  return built
    ? `scripts/build-helm-diff.sh could not build it: ${built}`
    : `no helm-diff plugin in ${pluginsDir}: run \`bash scripts/build-helm-diff.sh\``;
}

type Verdict = { drifted: boolean } | { drifted: "error"; error: string };

async function loop(
  tool: DiffLoopResult["tool"],
  releases: readonly ReleaseId[],
  check: (release: ReleaseId) => Promise<Verdict>,
): Promise<DiffLoopResult> {
  const perRelease: DiffLoopResult["perRelease"][number][] = [];
  const started = performance.now();
  for (const release of releases) {
    const releaseStarted = performance.now();
    const verdict = await check(release);
    perRelease.push({
      namespace: release.namespace,
      name: release.name,
      ...verdict,
      seconds: secondsSince(releaseStarted),
    });
  }
  return { tool, available: true, releases: releases.length, seconds: secondsSince(started), perRelease };
}

function unavailable(
  tool: DiffLoopResult["tool"],
  releases: readonly ReleaseId[],
  reason: string,
): DiffLoopResult {
  return {
    tool,
    available: false,
    unavailableReason: reason,
    releases: releases.length,
    seconds: 0,
    perRelease: [],
  };
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs a command to its end; never rejects on a non-zero exit (only if it cannot start). */
function runToEnd(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { keepStdout?: boolean } = {},
): Promise<Exit> {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const stdout = collect(child.stdout, options.keepStdout ?? true);
  const stderr = collect(child.stderr, true);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({ code, signal, stdout: stdout(), stderr: stderr().toString() });
    });
  });
}

/** `first | second`, both to their end; the second's stdout is read and dropped. */
async function pipeToEnd(
  first: readonly [string, readonly string[]],
  second: readonly [string, readonly string[]],
  env: NodeJS.ProcessEnv,
): Promise<{ first: Exit; second: Exit }> {
  const producer = spawn(first[0], first[1], { env, stdio: ["ignore", "pipe", "pipe"] });
  const consumer = spawn(second[0], second[1], { env, stdio: ["pipe", "pipe", "pipe"] });
  // The consumer may exit before reading everything (EPIPE); its exit code tells what happened.
  consumer.stdin.on("error", () => undefined);
  producer.stdout.pipe(consumer.stdin);
  const ended = (child: ChildProcess, stdout: () => Buffer, stderr: () => Buffer) =>
    new Promise<Exit>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => {
        resolve({ code, signal, stdout: stdout(), stderr: stderr().toString() });
      });
    });
  const [a, b] = await Promise.all([
    ended(producer, () => Buffer.alloc(0), collect(producer.stderr, true)),
    ended(consumer, collect(consumer.stdout, false), collect(consumer.stderr, true)),
  ]);
  return { first: a, second: b };
}

/** Drains a stream; keeps what it read only when asked (diffs can be large). */
function collect(stream: NodeJS.ReadableStream, keep: boolean): () => Buffer {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => {
    if (keep) chunks.push(chunk);
  });
  return () => Buffer.concat(chunks);
}

function parseList(body: Buffer, url: string): { items: number; continue: string | undefined } {
  let list: unknown;
  try {
    list = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new Error(`kubectl get --raw '${url}' did not return JSON`, { cause: error });
  }
  if (typeof list !== "object" || list === null || !("items" in list) || !Array.isArray(list.items)) {
    throw new Error(`kubectl get --raw '${url}' did not return a list`);
  }
  const metadata = "metadata" in list ? list.metadata : undefined;
  const token =
    typeof metadata === "object" && metadata !== null && "continue" in metadata
      ? metadata.continue
      : undefined;
  return {
    items: list.items.length,
    continue: typeof token === "string" && token !== "" ? token : undefined,
  };
}

function envFor(env: BaselineEnv): NodeJS.ProcessEnv {
  return { ...process.env, ...env.env, KUBECONFIG: env.kubeconfig };
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  if (command.includes("/")) return executable(command);
  return (env.PATH ?? "").split(":").some((dir) => dir !== "" && executable(path.join(dir, command)));
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function exitText(exit: Exit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit ${String(exit.code)}`;
}

function tail(text: string, lines = 5): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
