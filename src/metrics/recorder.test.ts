import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FailureCode, Verb } from "../kube/client.ts";
import { parseExposition } from "../../test/support/metrics-text.ts";
import { MetricsRecorder, type ScanResult } from "./recorder.ts";
import { SelfMetrics } from "./self-metrics.ts";

/** Readings of the recording process (heap, resident memory), which only the relayed side has. */
const HEAP = /^(# (HELP|TYPE) )?helm_drift_exporter_scanner_(heap_|resident_)/;

/** The exposition as a set of lines: the order of series within a metric may differ. */
async function exposition(metrics: SelfMetrics): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text
    .split("\n")
    .filter((line) => !HEAP.test(line))
    .sort();
}

describe("MetricsRecorder and SelfMetrics.apply", () => {
  it("give the serving thread's registry the same series and values as direct calls", async () => {
    const direct = new SelfMetrics({ processMetrics: false });
    const relayed = new SelfMetrics({ processMetrics: false });
    const recorder = new MetricsRecorder();
    const observers = [direct, recorder];
    const observe = (verb: Verb, resource: string, failure: FailureCode | undefined, bytes: number) => {
      for (const o of observers) o.observe({ verb, resource, failure, bytes });
    };
    const received = (resource: string, bytes: number) => {
      for (const o of observers) o.received("watch", resource, bytes);
    };
    const watching = (resource: string, delta: 1 | -1) => {
      for (const o of observers) o.watching(resource, delta);
    };
    const scanFinished = (result: ScanResult) => {
      for (const o of observers) o.scanFinished(result);
    };

    assert.ok(recorder.empty);
    observe("get", "secrets", undefined, 100);
    watching("configmaps", 1);
    received("configmaps", 50);
    observe("list", "pods", "403", 0);
    observe("list", "pods", "403", 0);
    observe("list", "pods", "timeout", 0);
    scanFinished("success");
    assert.ok(!recorder.empty);
    relayed.apply(recorder.take());
    assert.ok(recorder.empty);
    assert.deepEqual(await exposition(relayed), await exposition(direct));

    observe("watch", "configmaps", undefined, 10);
    observe("watch", "configmaps", "410", 10);
    watching("configmaps", -1);
    watching("pods", 1);
    received("pods", 0);
    scanFinished("partial");
    scanFinished("skipped");
    observe("get", "secrets", undefined, 5);
    observe("list", "pods", "403", 0);
    // As it crosses to the serving thread.
    relayed.apply(structuredClone(recorder.take()));
    assert.deepEqual(await exposition(relayed), await exposition(direct));

    relayed.apply(recorder.take());
    assert.deepEqual(await exposition(relayed), await exposition(direct), "an empty batch adds nothing");
  });

  it("reports the recording thread's heap", async () => {
    const metrics = new SelfMetrics({ processMetrics: false });
    metrics.apply(new MetricsRecorder().take());
    const samples = parseExposition(await metrics.registry.metrics());
    const value = (name: string) => samples.find((sample) => sample.name === name)?.value ?? 0;
    const used = value("helm_drift_exporter_scanner_heap_used_bytes");
    assert.ok(used > 0);
    assert.ok(value("helm_drift_exporter_scanner_heap_size_bytes") >= used);
  });
});
