/**
 * Runs scans on a cron schedule: one at start, never two at once, each bounded by a
 * timeout. A scan that fails or times out leaves the previous results served (their
 * age is visible) and is reported through helm_drift_exporter_last_scan_success.
 */
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../log/logger.ts";
import type { ScanResult } from "../metrics/recorder.ts";
import type { SelfMetrics } from "../metrics/self-metrics.ts";
import type { Snapshot } from "../report/snapshot.ts";
import { errorMessage } from "../util/errors.ts";

/** A scan that could not read release storage still publishes (its releases last seen, stale), but failed. */
const SCAN_RESULTS = { success: "success", partial: "partial", failed: "error" } as const satisfies Record<
  Snapshot["outcome"],
  ScanResult
>;

export interface ScanLoopOptions {
  readonly scan: (signal: AbortSignal) => Promise<Snapshot>;
  readonly publish: (snapshot: Snapshot) => Promise<void>;
  readonly schedule: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly metrics: Pick<SelfMetrics, "scanFinished">;
}

export class ScanLoop {
  private readonly options: ScanLoopOptions;
  private task: ScheduledTask | undefined;
  private running: { promise: Promise<void>; abort: AbortController } | undefined;
  private stopped = false;

  constructor(options: ScanLoopOptions) {
    this.options = options;
  }

  /** Starts the schedule and the first scan; resolves when that first scan has finished. */
  async start(): Promise<void> {
    this.task = cron.schedule(this.options.schedule, () => void this.runOnce());
    await this.runOnce();
  }

  /** Runs a scan now unless one is running; resolves when it is done. */
  async runOnce(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.options.logger.warn("previous scan still running; skipping this one");
      this.options.metrics.scanFinished("skipped");
      return;
    }
    const abort = new AbortController();
    const promise = this.execute(abort).finally(() => {
      this.running = undefined;
    });
    this.running = { promise, abort };
    await promise;
  }

  /** Stops scheduling and aborts a running scan. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.task?.stop();
    if (this.running) {
      this.running.abort.abort(new Error("shutting down"));
      await this.running.promise;
    }
  }

  private async execute(abort: AbortController): Promise<void> {
    const { logger, metrics } = this.options;
    const timer = setTimeout(() => {
      abort.abort(new Error(`scan timed out after ${String(this.options.timeoutMs / 1000)}s`));
    }, this.options.timeoutMs);
    let result: ScanResult;
    const started = performance.now();
    try {
      const snapshot = await this.options.scan(abort.signal);
      // Work that never yielded can end before the timer had a chance to fire: past the
      // timeout is a timeout all the same.
      if (performance.now() - started > this.options.timeoutMs && !abort.signal.aborted)
        abort.abort(new Error(`scan timed out after ${String(this.options.timeoutMs / 1000)}s`));
      abort.signal.throwIfAborted();
      await this.options.publish(snapshot);
      result = SCAN_RESULTS[snapshot.outcome];
      logger.info(
        {
          durationSeconds: snapshot.durationSeconds,
          releases: snapshot.releases.length,
          outcome: snapshot.outcome,
        },
        "scan finished",
      );
    } catch (error) {
      const timedOut = abort.signal.aborted && !this.stopped;
      result = timedOut ? "timeout" : "error";
      if (!this.stopped) {
        logger.error({ err: errorMessage(error) }, timedOut ? "scan timed out" : "scan failed");
      }
    } finally {
      clearTimeout(timer);
    }
    if (!this.stopped) metrics.scanFinished(result);
  }
}
