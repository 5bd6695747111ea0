/**
 * The scanner process's side of the self metrics: it counts what happens there (API
 * requests, watches, scans) as deltas and hands them over in batches; the serving thread
 * adds them to its SelfMetrics, the one registry (SelfMetrics.apply).
 */
import { getHeapStatistics } from "node:v8";
import type { FailureCode, ObservedRequest, RequestObserver, Verb } from "../kube/client.ts";

/** How a scan ended (helm_drift_exporter_scans_total's result label). */
export type ScanResult = "success" | "partial" | "error" | "timeout" | "skipped";
/** Why the scanner process was started again. */
export type ScannerRestartReason = "out_of_memory" | "crashed";

export interface MetricsBatch {
  /** Per verb and resource touched since the last batch; bytes include a watch's as they arrived. */
  readonly requests: readonly {
    readonly verb: Verb;
    readonly resource: string;
    readonly count: number;
    /** Failed requests by their code label. */
    readonly errors: Readonly<Partial<Record<FailureCode, number>>>;
    readonly bytes: number;
  }[];
  /** Net change of open watches per resource. */
  readonly watches: readonly { readonly resource: string; readonly delta: number }[];
  /** Finished scans, in order. */
  readonly scans: readonly ScanResult[];
  /** The recording process's V8 heap and resident memory when the batch was taken. */
  readonly heap: { readonly used: number; readonly size: number; readonly resident: number };
}

interface RequestDelta {
  verb: Verb;
  resource: string;
  count: number;
  errors: Partial<Record<FailureCode, number>>;
  bytes: number;
}

export class MetricsRecorder implements RequestObserver {
  private requests = new Map<string, RequestDelta>();
  private watches = new Map<string, number>();
  private scans: ScanResult[] = [];

  get empty(): boolean {
    return this.requests.size === 0 && this.watches.size === 0 && this.scans.length === 0;
  }

  observe(request: Pick<ObservedRequest, "verb" | "resource" | "failure" | "bytes">): void {
    const delta = this.delta(request.verb, request.resource);
    delta.count++;
    if (request.failure !== undefined)
      delta.errors[request.failure] = (delta.errors[request.failure] ?? 0) + 1;
    delta.bytes += request.bytes;
  }

  received(verb: Verb, resource: string, bytes: number): void {
    this.delta(verb, resource).bytes += bytes;
  }

  watching(resource: string, delta: 1 | -1): void {
    this.watches.set(resource, (this.watches.get(resource) ?? 0) + delta);
  }

  scanFinished(result: ScanResult): void {
    this.scans.push(result);
  }

  /** Everything recorded since the last call, and the heap now. */
  take(): MetricsBatch {
    const heap = getHeapStatistics();
    const batch: MetricsBatch = {
      requests: [...this.requests.values()],
      watches: [...this.watches].map(([resource, delta]) => ({ resource, delta })),
      scans: this.scans,
      heap: { used: heap.used_heap_size, size: heap.total_heap_size, resident: process.memoryUsage.rss() },
    };
    this.requests = new Map();
    this.watches = new Map();
    this.scans = [];
    return batch;
  }

  private delta(verb: Verb, resource: string): RequestDelta {
    const key = `${verb} ${resource}`;
    let delta = this.requests.get(key);
    if (!delta) {
      delta = { verb, resource, count: 0, errors: {}, bytes: 0 };
      this.requests.set(key, delta);
    }
    return delta;
  }
}
