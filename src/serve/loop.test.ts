import { testSnapshot } from "../../test/support/snapshot.ts";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLogger } from "../log/logger.ts";
import { SelfMetrics } from "../metrics/self-metrics.ts";
import { ScanLoop } from "./loop.ts";
import type { Snapshot } from "../report/snapshot.ts";

const snapshot = (outcome: Snapshot["outcome"] = "success"): Snapshot => testSnapshot({ outcome });

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener("abort", () => {
      reject(signal.reason as Error);
    });
  });
}

async function scans(metrics: SelfMetrics): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric("helm_drift_exporter_scans_total")?.get();
  return Object.fromEntries(
    (metric?.values ?? []).map((value) => [String(value.labels.result), value.value]),
  );
}

async function lastSuccess(metrics: SelfMetrics): Promise<number | undefined> {
  return (await metrics.registry.getSingleMetric("helm_drift_exporter_last_scan_success")?.get())?.values[0]
    ?.value;
}

function loop(scan: (signal: AbortSignal) => Promise<Snapshot>, timeoutMs = 5_000) {
  const metrics = new SelfMetrics({ processMetrics: false });
  const published: Snapshot[] = [];
  const scanLoop = new ScanLoop({
    scan,
    publish: async (s) => {
      published.push(s);
      return Promise.resolve();
    },
    schedule: "0 0 1 1 *", // effectively never: the tests trigger scans themselves
    timeoutMs,
    logger: silentLogger,
    metrics,
  });
  return { scanLoop, metrics, published };
}

describe("ScanLoop", () => {
  it("never runs two scans at once: an overlapping trigger is skipped and counted", async () => {
    let release: () => void = () => undefined;
    let running = 0;
    let maxRunning = 0;
    const { scanLoop, metrics, published } = loop(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => (release = resolve));
      running--;
      return snapshot();
    });
    const first = scanLoop.runOnce();
    await scanLoop.runOnce(); // returns at once: skipped
    release();
    await first;
    assert.equal(maxRunning, 1);
    assert.equal(published.length, 1);
    assert.deepEqual(await scans(metrics), { skipped: 1, success: 1 });
    assert.equal(await lastSuccess(metrics), 1);
    await scanLoop.stop();
  });

  it("aborts a scan at the timeout, keeps the previous results and reports the failure", async () => {
    let calls = 0;
    const { scanLoop, metrics, published } = loop(async (signal) => {
      calls++;
      if (calls === 1) return snapshot();
      await untilAborted(signal);
      return snapshot();
    }, 50);
    await scanLoop.runOnce();
    await scanLoop.runOnce();
    assert.equal(published.length, 1, "the timed-out scan published nothing");
    assert.deepEqual(await scans(metrics), { success: 1, timeout: 1 });
    assert.equal(await lastSuccess(metrics), 0);
    await scanLoop.stop();
  });

  it("counts a scan that ran past its timeout without yielding as a timeout", async () => {
    const { scanLoop, metrics, published } = loop(() => {
      const until = performance.now() + 100;
      while (performance.now() < until); // synchronous work: the timer cannot fire meanwhile
      return Promise.resolve(snapshot());
    }, 20);
    await scanLoop.runOnce();
    assert.equal(published.length, 0);
    assert.deepEqual(await scans(metrics), { timeout: 1 });
    await scanLoop.stop();
  });

  it("counts partial scans and errors", async () => {
    let calls = 0;
    const { scanLoop, metrics } = loop(async () => {
      calls++;
      if (calls === 2) throw new Error("apiserver down");
      return Promise.resolve(snapshot("partial"));
    });
    await scanLoop.runOnce();
    await scanLoop.runOnce();
    assert.deepEqual(await scans(metrics), { partial: 1, error: 1 });
    await scanLoop.stop();
  });

  it("publishes a scan that could not read release storage, and counts it as an error", async () => {
    const { scanLoop, metrics, published } = loop(() => Promise.resolve(snapshot("failed")));
    await scanLoop.runOnce();
    assert.equal(published.length, 1, "published: it serves the releases last seen, marked stale");
    assert.deepEqual(await scans(metrics), { error: 1 });
    assert.equal(await lastSuccess(metrics), 0);
    await scanLoop.stop();
  });

  it("stops a running scan on stop() and runs no more", async () => {
    let calls = 0;
    const { scanLoop } = loop(async (signal) => {
      calls++;
      await untilAborted(signal);
      return snapshot();
    });
    const running = scanLoop.runOnce();
    await scanLoop.stop();
    await running;
    await scanLoop.runOnce();
    assert.equal(calls, 1);
  });
});
