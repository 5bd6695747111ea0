/**
 * Holds what the HTTP side serves of the latest scan (a Published: ready bytes), swapped
 * atomically per scan.
 */
import zlib from "node:zlib";
import type { Published } from "./published.ts";

export class PublicationStore {
  private published: Published | undefined;
  private storageReadOnce = false;

  get current(): Published | undefined {
    return this.published;
  }

  /** A scan has read release storage: what is served says which releases exist. Readiness follows it. */
  get ready(): boolean {
    return this.storageReadOnce;
  }

  set(published: Published): void {
    this.published = published;
    if (published.storageRead) this.storageReadOnce = true;
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
