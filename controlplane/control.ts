import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLUSTER_INFO_FILE, readClusterInfo, type ClusterInfo } from "./cluster-info.ts";

const PID_FILE = "supervisor.pid";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface StartOptions {
  /** Directory for certificates, etcd data, logs and the kubeconfig; removed on stop. */
  readonly dir: string;
  /** Stop the cluster when this process dies (a test run that is killed or interrupted). */
  readonly parentPid?: number;
  /**
   * Serve the fault channel (controlplane/faults.ts) so a test can stop, restart and pause
   * etcd and kube-apiserver. Never on a control plane that other tests share.
   */
  readonly faults?: boolean;
  readonly timeoutMs?: number;
}

/** Starts the supervisor detached and waits until the API server is ready. */
export async function startCluster(options: StartOptions): Promise<ClusterInfo> {
  const { dir } = options;
  if (existsSync(path.join(dir, PID_FILE))) {
    throw new Error(`a control plane already runs in ${dir}; stop it first (npm run cluster:down)`);
  }
  mkdirSync(dir, { recursive: true });
  const argv = [path.join(import.meta.dirname, "supervisor.ts"), "--dir", dir];
  if (options.parentPid !== undefined) argv.push("--parent-pid", String(options.parentPid));
  if (options.faults) argv.push("--faults");
  const supervisor = spawn(process.execPath, argv, { detached: true, stdio: "ignore" });
  supervisor.unref();
  if (supervisor.pid === undefined) throw new Error("could not start the control-plane supervisor");
  writeFileSync(path.join(dir, PID_FILE), String(supervisor.pid));

  // Only bounds a hang: on a busy 2-core machine a start can take minutes.
  const deadline = Date.now() + (options.timeoutMs ?? 6 * 60_000);
  while (Date.now() < deadline) {
    if (existsSync(path.join(dir, CLUSTER_INFO_FILE))) return readClusterInfo(dir);
    const errorFile = path.join(dir, "startup-error.txt");
    if (existsSync(errorFile) || !alive(supervisor.pid)) {
      const reason = existsSync(errorFile)
        ? readFileSync(errorFile, "utf8")
        : `supervisor exited: ${tailOf(path.join(dir, "supervisor.log"))}`;
      await stopCluster(dir);
      throw new Error(`control plane failed to start: ${reason}`);
    }
    await sleep(100);
  }
  await stopCluster(dir);
  throw new Error("control plane did not become ready in time");
}

/** Stops the supervisor's whole process group and removes the directory. Idempotent. */
export async function stopCluster(dir: string): Promise<void> {
  const pidFile = path.join(dir, PID_FILE);
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8"));
    signalGroup(pid, "SIGTERM");
    for (let waited = 0; waited < 10_000 && alive(pid); waited += 100) await sleep(100);
    // The supervisor stops its children itself; the group kill catches anything it could not.
    signalGroup(pid, "SIGKILL");
  }
  rmSync(dir, { recursive: true, force: true });
}

function tailOf(file: string): string {
  return existsSync(file)
    ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-20).join("\n")
    : "(no log)";
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
