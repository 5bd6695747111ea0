/**
 * Holds the latest snapshot and its metrics, rendered, encoded and compressed once per
 * scan, so a scrape only writes bytes that are ready; swapped atomically per scan.
 */
import { promisify } from "node:util";
import zlib from "node:zlib";
import { renderSnapshot } from "../metrics/snapshot-metrics.ts";
import type { Snapshot } from "../scan/snapshot.ts";

const deflateRaw = promisify(zlib.deflateRaw);

export interface Published {
  readonly snapshot: Snapshot;
  readonly metricsBody: Buffer;
  /**
   * metricsBody as raw deflate blocks ending in a full flush (not a final block), and its
   * CRC-32: a scrape that accepts gzip appends its live metrics as a final block and sends
   * one gzip member, compressing only those few kilobytes (see gzipMetrics).
   */
  readonly metricsDeflated: Buffer;
  readonly metricsCrc: number;
}

export class SnapshotStore {
  private published: Published | undefined;

  get current(): Published | undefined {
    return this.published;
  }

  async publish(snapshot: Snapshot): Promise<void> {
    const metricsBody = Buffer.from(await renderSnapshot(snapshot), "utf8");
    const metricsDeflated = await deflateRaw(metricsBody, { finishFlush: zlib.constants.Z_FULL_FLUSH });
    this.published = { snapshot, metricsBody, metricsDeflated, metricsCrc: zlib.crc32(metricsBody) };
  }
}

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * One gzip member (RFC 1952) of the published metrics followed by `live`: the published
 * blocks end in a full flush, so the live part's independent deflate stream continues
 * them, and the CRC-32 continues from the published one.
 */
export function gzipMetrics(published: Published | undefined, live: Buffer): Buffer[] {
  const tail = zlib.deflateRawSync(live);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(live, published?.metricsCrc ?? 0) >>> 0, 0);
  trailer.writeUInt32LE(((published?.metricsBody.length ?? 0) + live.length) % 2 ** 32, 4);
  return [GZIP_HEADER, published?.metricsDeflated ?? Buffer.alloc(0), tail, trailer];
}
