/** Live metrics about the exporter itself: build, scans, Kubernetes API usage, process. */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { ObservedRequest, RequestObserver, Verb } from "../kube/client.ts";
import type { MetricsBatch, ScannerRestartReason, ScanResult } from "./recorder.ts";
import { SELF_METRICS as M } from "./catalog.ts";
import { VERSION } from "../util/version.ts";

const NONCONFORMING_DEFAULT_METRICS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
] as const;

export class SelfMetrics implements RequestObserver {
  readonly registry = new Registry();
  private readonly scans: Counter;
  private readonly lastScanSuccess: Gauge;
  private readonly requests: Counter;
  private readonly requestErrors: Counter;
  private readonly responseBytes: Counter;
  private readonly watches: Gauge;
  private readonly scannerHeapUsed: Gauge;
  private readonly scannerHeapSize: Gauge;
  private readonly scannerResident: Gauge;
  private readonly scannerRestarts: Counter;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    new Gauge({
      name: M.buildInfo.name,
      help: M.buildInfo.help,
      labelNames: M.buildInfo.labels,
      registers,
    }).set({ version: VERSION, node_version: process.version }, 1);
    const counter = (definition: { name: string; help: string; labels: readonly string[] }) =>
      new Counter({ name: definition.name, help: definition.help, labelNames: definition.labels, registers });
    this.scans = counter(M.scans);
    this.lastScanSuccess = new Gauge({
      name: M.lastScanSuccess.name,
      help: M.lastScanSuccess.help,
      registers,
    });
    this.requests = counter(M.apiRequests);
    this.requestErrors = counter(M.apiRequestErrors);
    this.responseBytes = counter(M.apiResponseBytes);
    this.watches = new Gauge({
      name: M.apiWatches.name,
      help: M.apiWatches.help,
      labelNames: M.apiWatches.labels,
      registers,
    });
    this.scannerRestarts = counter(M.scannerRestarts);
    this.scannerHeapUsed = new Gauge({
      name: M.scannerHeapUsed.name,
      help: M.scannerHeapUsed.help,
      registers,
    });
    this.scannerHeapSize = new Gauge({
      name: M.scannerHeapSize.name,
      help: M.scannerHeapSize.help,
      registers,
    });
    this.scannerResident = new Gauge({
      name: M.scannerResident.name,
      help: M.scannerResident.help,
      registers,
    });
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges *_total, which promtool (rightly) rejects: only counters end in _total.
      for (const name of NONCONFORMING_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
  }

  observe(request: Pick<ObservedRequest, "verb" | "resource" | "failure" | "bytes">): void {
    const labels = { verb: request.verb, resource: request.resource };
    this.requests.inc(labels);
    if (request.failure !== undefined) this.requestErrors.inc({ ...labels, code: request.failure });
    this.responseBytes.inc(labels, request.bytes);
  }

  received(verb: Verb, resource: string, bytes: number): void {
    this.responseBytes.inc({ verb, resource }, bytes);
  }

  watching(resource: string, delta: 1 | -1): void {
    this.watches.inc({ resource }, delta);
  }

  scanFinished(result: ScanResult): void {
    this.scans.inc({ result });
    if (result !== "skipped") this.lastScanSuccess.set(result === "success" ? 1 : 0);
  }

  scannerRestarted(reason: ScannerRestartReason): void {
    this.scannerRestarts.inc({ reason });
  }

  /** What the scanner process recorded (see relay.ts), with the same series as the calls above. */
  apply(batch: MetricsBatch): void {
    for (const request of batch.requests) {
      const labels = { verb: request.verb, resource: request.resource };
      if (request.count > 0) this.requests.inc(labels, request.count);
      for (const [code, count] of Object.entries(request.errors))
        this.requestErrors.inc({ ...labels, code }, count);
      this.responseBytes.inc(labels, request.bytes);
    }
    for (const { resource, delta } of batch.watches) this.watches.inc({ resource }, delta);
    for (const result of batch.scans) this.scanFinished(result);
    this.scannerHeapUsed.set(batch.heap.used);
    this.scannerHeapSize.set(batch.heap.size);
    this.scannerResident.set(batch.heap.resident);
  }
}
