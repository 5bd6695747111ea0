/**
 * One process of the control plane (etcd, kube-apiserver), run by the supervisor. It can be
 * stopped, started again with the same command line (same ports, certificates and data),
 * paused and resumed; only an exit nobody asked for is a crash.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";

export const COMPONENTS = ["etcd", "kube-apiserver"] as const;
export type ComponentName = (typeof COMPONENTS)[number];
export type ComponentState = "running" | "paused" | "stopped";
export type StopSignal = "SIGTERM" | "SIGKILL";

/** How long a component may take to exit on SIGTERM before it gets SIGKILL (the apiserver drains requests). */
const STOP_GRACE_MS = 60_000;

export interface ComponentOptions {
  readonly name: ComponentName;
  readonly binary: string;
  readonly argv: readonly string[];
  /** Appended to across restarts, so one file tells the component's whole story. */
  readonly logFile: string;
  /** Whether the component serves (etcd /health, kube-apiserver /readyz); false while it cannot tell. */
  readonly isReady: () => Promise<boolean>;
  readonly log: (message: string) => void;
  /** Called when the process exits while it should be running or paused. */
  readonly onCrash: (name: ComponentName, code: number | null, signal: NodeJS.Signals | null) => void;
}

export class Component {
  readonly #options: ComponentOptions;
  #child: ChildProcess | undefined;
  #state: ComponentState = "stopped";
  #exited: Promise<void> = Promise.resolve();

  constructor(options: ComponentOptions) {
    this.#options = options;
  }

  get name(): ComponentName {
    return this.#options.name;
  }

  get state(): ComponentState {
    return this.#state;
  }

  isReady(): Promise<boolean> {
    return this.#options.isReady();
  }

  get pid(): number | undefined {
    return this.#state === "stopped" ? undefined : this.#child?.pid;
  }

  start(): void {
    if (this.#state !== "stopped") throw new Error(`${this.name} is already ${this.#state}`);
    const out = openSync(this.#options.logFile, "a");
    const child = spawn(this.#options.binary, this.#options.argv, { stdio: ["ignore", out, out] });
    this.#child = child;
    this.#state = "running";
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        // A child replaced by a restart, or stopped on purpose, is no crash.
        if (this.#child === child && this.#state !== "stopped") {
          this.#state = "stopped";
          this.#options.onCrash(this.name, code, signal);
        }
        resolve();
      });
    });
    this.#options.log(`started ${this.name} (pid ${String(child.pid)})`);
  }

  /** Stops the process and waits for its exit; SIGTERM escalates to SIGKILL after a grace period. */
  async stop(signal: StopSignal, graceMs = STOP_GRACE_MS): Promise<void> {
    const child = this.#child;
    if (this.#state === "stopped" || !child) return;
    const paused = this.#state === "paused";
    this.#state = "stopped";
    child.kill(signal);
    // A stopped (SIGSTOP) process acts on SIGTERM only once it runs again.
    if (paused) child.kill("SIGCONT");
    const escalate = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(escalate);
    this.#options.log(`stopped ${this.name} with ${signal}`);
  }

  /** SIGSTOP: the process keeps its sockets (the kernel still accepts connections) but answers nothing. */
  pause(): void {
    this.#signalLive("SIGSTOP", "running");
    this.#state = "paused";
  }

  resume(): void {
    this.#signalLive("SIGCONT", "paused");
    this.#state = "running";
  }

  #signalLive(signal: NodeJS.Signals, expected: ComponentState): void {
    if (this.#state !== expected || !this.#child) {
      throw new Error(`${this.name} is ${this.#state}, not ${expected}`);
    }
    this.#child.kill(signal);
    this.#options.log(`sent ${signal} to ${this.name}`);
  }
}
