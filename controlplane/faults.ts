/**
 * Faults a test can inflict on a control plane it started itself with `faults: true`
 * (see fault-channel.ts): the supervisor carries them out and takes none of them for a crash.
 * After a restart the apiserver listens on the same URL with the same certificates and etcd
 * data, so clients reconnect as they would to a restarted production apiserver.
 */
import type { ClusterInfo } from "./cluster-info.ts";
import type { ComponentName, StopSignal } from "./component.ts";
import type { FaultAction, FaultRequest, FaultResult } from "./fault-channel.ts";

export type { FaultResult } from "./fault-channel.ts";

export class Faults {
  readonly #channel: { readonly url: string; readonly token: string };

  constructor(info: ClusterInfo) {
    if (!info.faults) {
      throw new Error(
        `the control plane in ${info.dir} takes no faults: start a private one with startCluster({ faults: true })`,
      );
    }
    this.#channel = info.faults;
  }

  /** SIGKILL: the apiserver is gone, its connections reset, until start(). */
  kill(component: ComponentName = "kube-apiserver"): Promise<FaultResult> {
    return this.#send(component, "stop", { signal: "SIGKILL" });
  }

  /** A graceful stop (SIGTERM, as a rolling update does); down until start(). */
  stop(component: ComponentName = "kube-apiserver", signal: StopSignal = "SIGTERM"): Promise<FaultResult> {
    return this.#send(component, "stop", { signal });
  }

  /** Starts a stopped component with its original command line; by default waits until it is ready. */
  start(component: ComponentName = "kube-apiserver", waitReady = true): Promise<FaultResult> {
    return this.#send(component, "start", { waitReady });
  }

  /** stop + start; `waitReady: false` returns as soon as the new process runs, before it serves. */
  restart(
    component: ComponentName = "kube-apiserver",
    options: { signal?: StopSignal; waitReady?: boolean } = {},
  ): Promise<FaultResult> {
    return this.#send(component, "restart", options);
  }

  /** SIGSTOP: connections are accepted (by the kernel) and requests sent, but nothing answers. */
  pause(component: ComponentName = "kube-apiserver"): Promise<FaultResult> {
    return this.#send(component, "pause", {});
  }

  /** SIGCONT: a paused component carries on, answering what it was sent meanwhile. */
  resume(component: ComponentName = "kube-apiserver"): Promise<FaultResult> {
    return this.#send(component, "resume", {});
  }

  async #send(component: ComponentName, action: FaultAction, request: FaultRequest): Promise<FaultResult> {
    const response = await fetch(`${this.#channel.url}/${component}/${action}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.#channel.token}`, "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    const body = (await response.json()) as FaultResult | { error: string };
    if (!response.ok || "error" in body) {
      throw new Error(`${action} ${component}: ${"error" in body ? body.error : String(response.status)}`);
    }
    return body;
  }
}
