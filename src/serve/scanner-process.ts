/**
 * The serving process's handle on the scanner process (./scanner-child.ts): starts it with the
 * configuration, puts what it sends in the store and the self metrics, and starts it again
 * when it fails. A process, not a worker thread: V8 aborts the whole process when one large
 * allocation does not fit in a heap near its limit, which a worker's own limit cannot prevent;
 * a child's abort ends only the child.
 */
import { fork, type ChildProcess } from "node:child_process";
import { setPriority } from "node:os";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/config.ts";
import type { Logger } from "../log/logger.ts";
import type { MetricsBatch } from "../metrics/recorder.ts";
import type { ScannerRestartReason } from "../metrics/recorder.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
import { receivePublication, type PublishedMessage } from "./publication.ts";
import type { PublicationStore } from "../server/store.ts";
import { errorMessage } from "../util/errors.ts";

export type ToScanner = { readonly type: "start"; readonly config: Config } | { readonly type: "stop" };

export type FromScanner =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "update"; readonly metrics: MetricsBatch; readonly published?: PublishedMessage };

/** Niceness of the scanner process; the serving one keeps its own (normally 0). */
export const SCANNER_NICENESS = 10;

// From the sources (tests, `npm start`) the child is a .ts file, from dist a .js one.
const CHILD_PATH = fileURLToPath(new URL(`./scanner-child${extname(import.meta.url)}`, import.meta.url));

export interface ScannerOptions {
  readonly config: Config;
  readonly store: PublicationStore;
  readonly metrics: SelfMetrics;
  readonly logger: Logger;
}

export interface Scanner {
  /** Stops scanning, aborting a running scan, and disconnects; resolves when the process has ended. */
  stop(): Promise<void>;
  /** The scanner process now, for tests and diagnostics. */
  readonly pid: number | undefined;
}

/** After a failure the process is started again after this long, doubling up to the maximum. */
const RESTART_DELAY_MS = { first: 1_000, max: 60_000 };
/** A scanner that does not end this long after being asked to is killed. */
const STOP_GRACE_MS = 10_000;

/**
 * Starts the scanner process; resolves once it has connected to the cluster, rejects if the
 * first one could not. Later failures (it outgrew --scan.heap-limit, or crashed) never end
 * the serving process: the scan it was running counts as an error, the last results stay
 * served, and a new scanner starts after a backoff.
 */
export async function startScanner(options: ScannerOptions): Promise<Scanner> {
  const scanner = new ScannerSupervisor(options);
  await scanner.spawn();
  return scanner;
}

class ScannerSupervisor implements Scanner {
  private readonly options: ScannerOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private delayMs = RESTART_DELAY_MS.first;

  constructor(options: ScannerOptions) {
    this.options = options;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child?.connected) child.send({ type: "stop" } satisfies ToScanner);
    const killer = setTimeout(() => child?.kill("SIGKILL"), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(killer);
  }

  /** One scanner process: resolves when it is ready, rejects if it fails first; failures after that restart it. */
  spawn(): Promise<void> {
    const { config, metrics, store } = this.options;
    const child = fork(CHILD_PATH, [], {
      serialization: "advanced",
      // The image's flags (e.g. --max-semi-space-size) apply to the scanner too; its heap gets the limit.
      execArgv: [
        ...process.execArgv.filter((flag) => !flag.startsWith("--max-old-space-size")),
        `--max-old-space-size=${String(Math.floor(config.scanHeapLimitBytes / 2 ** 20))}`,
      ],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        resolve();
      });
    });
    givePriorityToServing(child, this.options.logger);
    child.send({ type: "start", config } satisfies ToScanner);
    let ready = false;
    let failure: string | undefined;
    return new Promise<void>((resolve, reject) => {
      child.on("message", (message: FromScanner) => {
        switch (message.type) {
          case "ready":
            ready = true;
            resolve();
            break;
          case "failed":
            failure = message.message;
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
      child.once("exit", (code, signal) => {
        if (this.stopping) return;
        const { reason, error } = exitCause(code, signal, failure, config);
        if (!ready) reject(error);
        else this.failed(error, reason);
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
      "the scanner process failed; the last results stay served and it is started again",
    );
    this.restartTimer = setTimeout(() => {
      this.spawn().catch((spawnError: unknown) => {
        this.failed(spawnError instanceof Error ? spawnError : new Error(String(spawnError)), "crashed");
      });
    }, this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, RESTART_DELAY_MS.max);
  }
}

/**
 * Why the scanner ended. V8 aborts the process (SIGABRT) when its heap is exhausted: that is
 * the out-of-memory case, whatever allocation tipped it over.
 */
function exitCause(
  code: number | null,
  signal: NodeJS.Signals | null,
  failure: string | undefined,
  config: Config,
): { reason: ScannerRestartReason; error: Error } {
  if (signal === "SIGABRT" || code === 134)
    return {
      reason: "out_of_memory",
      error: new Error(
        `the scanner ran out of memory (--scan.heap-limit is ${formatMiB(config.scanHeapLimitBytes)}; raise it)`,
      ),
    };
  return {
    reason: "crashed",
    error: new Error(
      failure ??
        `the scanner process ended unexpectedly (${signal ? `signal ${signal}` : `exit code ${String(code)}`})`,
    ),
  };
}

/** Scans are batch work; scrapes wait on this process. Where CPUs are few, the scanner gives way. */
function givePriorityToServing(child: ChildProcess, logger: Logger): void {
  if (child.pid === undefined) return;
  try {
    setPriority(child.pid, SCANNER_NICENESS);
  } catch (error) {
    logger.debug({ err: errorMessage(error) }, "scanner keeps its priority");
  }
}

function formatMiB(bytes: number): string {
  return `${String(Math.floor(bytes / 2 ** 20))}Mi`;
}
