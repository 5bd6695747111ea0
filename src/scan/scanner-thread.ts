/**
 * The serving thread's handle on the scanner thread (./scanner-worker.ts): starts it with the
 * configuration, and puts what it sends in the store and the self metrics.
 */
import { extname } from "node:path";
import { Worker } from "node:worker_threads";
import type { Config } from "../config/config.ts";
import type { MetricsBatch } from "../metrics/relay.ts";
import type { Logger } from "../log/logger.ts";
import type { ScannerRestartReason, SelfMetrics } from "../metrics/self-metrics.ts";
import { receivePublication, type PublishedMessage } from "../server/publication.ts";
import type { SnapshotStore } from "../server/store.ts";

export type ToScanner = "stop";

export type FromScanner =
  | { readonly type: "ready" }
  | { readonly type: "update"; readonly metrics: MetricsBatch; readonly published?: PublishedMessage };

/** Niceness of the scanner thread; the serving thread keeps the process's (normally 0). */
export const SCANNER_NICENESS = 10;

// From the sources (tests, `npm start`) the worker is a .ts file, from dist a .js one.
const WORKER_URL = new URL(`./scanner-worker${extname(import.meta.url)}`, import.meta.url);

export interface ScannerThreadOptions {
  readonly config: Config;
  readonly store: SnapshotStore;
  readonly metrics: SelfMetrics;
  readonly logger: Logger;
  /** The worker's module; tests give one of their own. */
  readonly workerUrl?: URL;
}

export interface ScannerThread {
  /** Stops scanning, aborting a running scan, and disconnects; resolves when the thread has ended. */
  stop(): Promise<void>;
}

/** After a failure the thread is started again after this long, doubling up to the maximum. */
const RESTART_DELAY_MS = { first: 1_000, max: 60_000 };

/**
 * Starts the scanner thread; resolves once it has connected to the cluster, rejects if the
 * first one could not. Later failures of the thread (it outgrew --scan.heap-limit, or crashed)
 * never end the process: the scan it was running counts as an error, the last results stay
 * served, and a new thread is started after a backoff.
 */
export function startScannerThread(options: ScannerThreadOptions): Promise<ScannerThread> {
  return new ScannerSupervisor(options).start();
}

class ScannerSupervisor {
  private readonly options: ScannerThreadOptions;
  private worker: Worker | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private delayMs = RESTART_DELAY_MS.first;

  constructor(options: ScannerThreadOptions) {
    this.options = options;
  }

  async start(): Promise<ScannerThread> {
    await this.spawn();
    return { stop: () => this.stop() };
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.worker?.postMessage("stop" satisfies ToScanner);
    await this.exited;
  }

  /** One worker: resolves when it is ready, rejects if it fails first; failures after that restart it. */
  private spawn(): Promise<void> {
    const { config, metrics, store } = this.options;
    const worker = new Worker(this.options.workerUrl ?? WORKER_URL, {
      workerData: config,
      name: "scanner",
      // V8 sizes the heap's growth from its limit: with the machine's default (gigabytes) a
      // scan's garbage could reach several times its live heap before a collection.
      resourceLimits: { maxOldGenerationSizeMb: Math.floor(config.scanHeapLimitBytes / 2 ** 20) },
    });
    this.worker = worker;
    this.exited = new Promise((resolve) => {
      worker.once("exit", () => {
        resolve();
      });
    });
    let ready = false;
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: Error, reason: ScannerRestartReason) => {
        if (failed) return;
        failed = true;
        if (!ready) reject(error);
        else this.failed(error, reason);
      };
      worker.on("message", (message: FromScanner) => {
        switch (message.type) {
          case "ready":
            ready = true;
            resolve();
            break;
          case "update":
            metrics.apply(message.metrics);
            if (message.published) {
              store.set(receivePublication(message.published));
              this.delayMs = RESTART_DELAY_MS.first;
            }
            break;
        }
      });
      worker.on("error", (error: Error & { code?: string }) => {
        if (error.code === "ERR_WORKER_OUT_OF_MEMORY")
          fail(
            new Error(
              `${error.message} (--scan.heap-limit is ${formatMiB(config.scanHeapLimitBytes)}; raise it)`,
            ),
            "out_of_memory",
          );
        else fail(error, "crashed");
      });
      worker.on("exit", (code) => {
        if (!this.stopping)
          fail(new Error(`the scanner thread ended unexpectedly (exit code ${String(code)})`), "crashed");
      });
    });
  }

  private failed(error: Error, reason: ScannerRestartReason): void {
    if (this.stopping) return;
    const { metrics, logger } = this.options;
    // The scan it was running never finished.
    metrics.scanFinished("error");
    metrics.scannerRestarted(reason);
    logger.error(
      { err: error.message, reason, restartInSeconds: this.delayMs / 1000 },
      "the scanner thread failed; the last results stay served and it is started again",
    );
    this.restartTimer = setTimeout(() => {
      this.spawn().catch((spawnError: unknown) => {
        this.failed(spawnError instanceof Error ? spawnError : new Error(String(spawnError)), "crashed");
      });
    }, this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, RESTART_DELAY_MS.max);
  }
}

function formatMiB(bytes: number): string {
  return `${String(Math.floor(bytes / 2 ** 20))}Mi`;
}
