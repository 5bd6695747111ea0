/**
 * The serving thread's handle on the scanner thread (./scanner-worker.ts): starts it with the
 * configuration, and puts what it sends in the store and the self metrics.
 */
import { extname } from "node:path";
import { Worker } from "node:worker_threads";
import type { Config } from "../config/config.ts";
import type { MetricsBatch } from "../metrics/relay.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
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
  /** The thread failed or ended unasked after it was ready: no scan will come any more. */
  readonly onFailure: (error: Error) => void;
}

export interface ScannerThread {
  /** Stops scanning, aborting a running scan, and disconnects; resolves when the thread has ended. */
  stop(): Promise<void>;
}

/** Resolves when the scanner thread has connected to the cluster; rejects if it could not. */
export function startScannerThread(options: ScannerThreadOptions): Promise<ScannerThread> {
  const worker = new Worker(WORKER_URL, {
    workerData: options.config,
    name: "scanner",
    // V8 sizes the heap's growth from its limit: with the machine's default (gigabytes) a
    // scan's garbage could reach several times its live heap before a collection.
    resourceLimits: { maxOldGenerationSizeMb: Math.floor(options.config.scanHeapLimitBytes / 2 ** 20) },
  });
  const exited = new Promise<void>((resolve) => {
    worker.once("exit", () => {
      resolve();
    });
  });
  let state: "starting" | "running" | "stopping" | "failed" = "starting";
  const thread: ScannerThread = {
    stop: async () => {
      if (state === "running") {
        state = "stopping";
        worker.postMessage("stop" satisfies ToScanner);
      }
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      if (state === "starting") reject(error);
      else if (state !== "failed") options.onFailure(error);
      state = "failed";
    };
    worker.on("message", (message: FromScanner) => {
      switch (message.type) {
        case "ready":
          state = "running";
          resolve(thread);
          break;
        case "update":
          options.metrics.apply(message.metrics);
          if (message.published) options.store.set(receivePublication(message.published));
          break;
      }
    });
    worker.on("error", (error: Error & { code?: string }) => {
      fail(
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? new Error(
              `${error.message} (--scan.heap-limit is ${formatMiB(options.config.scanHeapLimitBytes)}; raise it)`,
            )
          : error,
      );
    });
    worker.on("exit", (code) => {
      if (state === "starting" || state === "running")
        fail(new Error(`the scanner thread ended unexpectedly (exit code ${String(code)})`));
    });
  });
}

function formatMiB(bytes: number): string {
  return `${String(Math.floor(bytes / 2 ** 20))}Mi`;
}
