import { testSnapshot } from "../../test/support/snapshot.ts";
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { MessageChannel } from "node:worker_threads";
import zlib from "node:zlib";
import { analyzeStatus } from "../analysis/status.ts";
import { decodeReleaseNow } from "../helm/decode.ts";
import { renderSnapshot } from "../metrics/snapshot-metrics.ts";
import { scanBlockJson, toReleaseJson, toScanJson } from "../output/json.ts";
import type { ReleaseFindings, Snapshot } from "../report/snapshot.ts";
import { encodeRelease, releaseRecord } from "../../test/support/encode.ts";
import {
  preparePublication,
  receivePublication,
  transferList,
  type PublishedMessage,
} from "./publication.ts";

function snapshot(releases: readonly ReleaseFindings[]): Snapshot {
  return testSnapshot({
    startedAt: new Date("2026-11-24T09:59:59Z"),
    outcome: "partial",
    releases,
    collectors: [{ name: "releases", success: true, durationSeconds: 0.2, errors: [] }],
  });
}

function releases(): ReleaseFindings[] {
  const web = analyzeStatus({
    namespace: "apps",
    release: "web",
    storage: "secret",
    revisions: [{ revision: 1, status: "deployed" }],
    latest: decodeReleaseNow(encodeRelease(releaseRecord())),
  });
  const api = analyzeStatus({
    namespace: "apps",
    release: "api",
    storage: "configmap",
    revisions: [
      { revision: 1, status: "deployed" },
      { revision: 2, status: "failed" },
    ],
    latest: decodeReleaseNow(encodeRelease(releaseRecord({ name: "api", revision: 2, status: "failed" }))),
  });
  // Multi-byte UTF-8 before and inside a release: spans count bytes, not characters.
  const cafe = { ...web, namespace: "shop", release: "café", description: "déployé ✓ 🚀" };
  const broken = analyzeStatus({
    namespace: "shop",
    release: "broken",
    storage: "secret",
    revisions: [{ revision: 3, status: "deployed" }],
    latest: { ok: false, reason: "gzip", message: 'bad "gzip" \u0000 header' },
  });
  return [web, api, cafe, broken];
}

describe("preparePublication", () => {
  it("renders the API's JSON exactly as JSON.stringify, and where each release lies in it", async () => {
    const scanned = snapshot(releases());
    const published = await preparePublication(scanned);
    const scan = scanBlockJson(scanned);
    assert.equal(published.scanJson, JSON.stringify(scan));
    assert.equal(published.releasesBody.toString("utf8"), JSON.stringify(toScanJson(scanned)));
    assert.deepEqual(
      [...published.releaseSpans.keys()],
      ["apps/web", "apps/api", "shop/café", "shop/broken"],
    );
    for (const release of scanned.releases) {
      const span = published.releaseSpans.get(`${release.namespace}/${release.release}`);
      assert.ok(span);
      const one = Buffer.concat([
        Buffer.from(`{"scan":${published.scanJson},"release":`),
        published.releasesBody.subarray(...span),
        Buffer.from("}"),
      ]);
      assert.equal(one.toString("utf8"), JSON.stringify({ scan, release: toReleaseJson(release) }));
    }

    const none = snapshot([]);
    const empty = await preparePublication(none);
    assert.equal(empty.releasesBody.toString("utf8"), JSON.stringify(toScanJson(none)));
    assert.equal(empty.releaseSpans.size, 0);
  });

  it("renders the metrics, their deflate blocks ending in a full flush, and their CRC-32", async () => {
    const scanned = snapshot(releases());
    const published = await preparePublication(scanned);
    const text = await renderSnapshot(scanned);
    assert.equal(published.metricsBody.toString("utf8"), text);
    const flushed = zlib.deflateRawSync(published.metricsBody, { finishFlush: zlib.constants.Z_FULL_FLUSH });
    assert.deepEqual(published.metricsDeflated, flushed);
    const inflated = zlib.inflateRawSync(published.metricsDeflated, {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    assert.equal(inflated.toString("utf8"), text);
    assert.equal(published.metricsCrc, zlib.crc32(text));
  });

  it("can be transferred to another thread, arriving as the same bytes, in Buffers", async () => {
    // Small enough that Node would allocate its Buffers from the shared pool, which cannot be transferred.
    const published = await preparePublication(snapshot(releases().slice(0, 1)));
    const expected = {
      metricsBody: Buffer.from(published.metricsBody),
      metricsDeflated: Buffer.from(published.metricsDeflated),
      releasesBody: Buffer.from(published.releasesBody),
    };
    const { port1, port2 } = new MessageChannel();
    try {
      const arrived = once(port2, "message");
      port1.postMessage(published, transferList(published));
      assert.equal(published.metricsBody.byteLength, 0, "moved, not copied");
      const [message] = (await arrived) as [PublishedMessage];
      const received = receivePublication(message);
      for (const name of ["metricsBody", "metricsDeflated", "releasesBody"] as const) {
        assert.ok(Buffer.isBuffer(received[name]), name);
        assert.deepEqual(received[name], expected[name], name);
      }
      assert.equal(received.metricsCrc, published.metricsCrc);
      assert.equal(received.scanJson, published.scanJson);
      assert.deepEqual(received.releaseSpans, published.releaseSpans);
    } finally {
      port1.close();
    }
  });
});
