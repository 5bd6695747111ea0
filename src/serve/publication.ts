/**
 * Everything the HTTP side serves of one scan, rendered, encoded and compressed once per
 * scan, so a scrape or an API call only writes bytes that are ready. Plain data only
 * (Buffers, strings, numbers, a Map): the scanner process prepares it and sends it to
 * the serving thread.
 */
import { promisify } from "node:util";
import zlib from "node:zlib";
import { renderSnapshot } from "../metrics/snapshot-metrics.ts";
import {
  scanBlockJson,
  SCHEMA_VERSION,
  strayFindingsJson,
  summaryJson,
  toReleaseJson,
} from "../output/json.ts";
import { releaseKey } from "../model/refs.ts";
import type { Snapshot } from "../report/snapshot.ts";
import type { Published } from "../server/published.ts";

const deflateRaw = promisify(zlib.deflateRaw);

/** What postMessage delivers of a Published: structured clone turns each Buffer into a plain Uint8Array. */
export type PublishedMessage = {
  readonly [K in keyof Published]: Published[K] extends Buffer<ArrayBuffer>
    ? Uint8Array<ArrayBuffer>
    : Published[K];
};

/** `hiddenMetrics`: what --metric-allowlist/--metric-denylist leave out of the exposition. */
export async function preparePublication(
  snapshot: Snapshot,
  hiddenMetrics: ReadonlySet<string> = new Set(),
): Promise<Published> {
  const metricsBody = Buffer.from(await renderSnapshot(snapshot, hiddenMetrics), "utf8");
  const metricsDeflated = await deflateRaw(metricsBody, { finishFlush: zlib.constants.Z_FULL_FLUSH });
  const scanJson = JSON.stringify(scanBlockJson(snapshot));
  const releases = renderReleases(scanJson, snapshot);
  return {
    storageRead: snapshot.outcome !== "failed",
    metricsBody: owned(metricsBody),
    metricsDeflated: owned(metricsDeflated),
    metricsCrc: zlib.crc32(metricsBody),
    scanJson,
    releasesBody: releases.body,
    releaseSpans: releases.spans,
  };
}

/** The memory to transfer with a publication instead of copying it. */
export function transferList(published: Published): ArrayBuffer[] {
  return [published.metricsBody.buffer, published.metricsDeflated.buffer, published.releasesBody.buffer];
}

/** A transferred publication as Buffers again, over the same memory. */
export function receivePublication(message: PublishedMessage): Published {
  const buffer = (bytes: Uint8Array<ArrayBuffer>) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    ...message,
    metricsBody: buffer(message.metricsBody),
    metricsDeflated: buffer(message.metricsDeflated),
    releasesBody: buffer(message.releasesBody),
  };
}

/** Exactly what JSON.stringify(toScanJson(snapshot)) gives, with the span of each release in it. */
function renderReleases(scanJson: string, snapshot: Snapshot) {
  const releases = snapshot.releases.map(toReleaseJson);
  const head = `{"schemaVersion":${String(SCHEMA_VERSION)},"scan":${scanJson},"summary":${JSON.stringify(summaryJson(releases))},"releases":[`;
  const parts = [head];
  let offset = Buffer.byteLength(head);
  const spans = new Map<string, readonly [number, number]>();
  for (const [index, release] of releases.entries()) {
    if (index > 0) {
      parts.push(",");
      offset += 1;
    }
    const json = JSON.stringify(release);
    parts.push(json);
    const end = offset + Buffer.byteLength(json);
    // The first of two same-named releases wins, as a search of the list would find it.
    if (!spans.has(releaseKey(release))) spans.set(releaseKey(release), [offset, end]);
    offset = end;
  }
  const strays = JSON.stringify(strayFindingsJson(snapshot));
  parts.push(`],${strays.slice(1)}`);
  return { body: owned(Buffer.from(parts.join(""), "utf8")), spans };
}

/**
 * The bytes in memory of their own: Node allocates small Buffers from a shared pool, whose
 * memory cannot be transferred to another thread.
 */
function owned(bytes: Buffer): Buffer<ArrayBuffer> {
  if (
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength
  )
    return bytes as Buffer<ArrayBuffer>;
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  bytes.copy(copy);
  return copy;
}
