/**
 * What the HTTP side serves of one scan: ready bytes, rendered, encoded and compressed once per
 * scan (by serve/publication.ts), so a scrape or an API call only writes them. Plain data
 * (Buffers, strings, numbers, a Map), so it can cross from the scanner process.
 */
export interface Published {
  readonly metricsBody: Buffer<ArrayBuffer>;
  /**
   * metricsBody as raw deflate blocks ending in a full flush (not a final block), and its
   * CRC-32: a scrape that accepts gzip appends its live metrics as a final block and sends
   * one gzip member, compressing only those few kilobytes (see gzipMetrics).
   */
  readonly metricsDeflated: Buffer<ArrayBuffer>;
  readonly metricsCrc: number;
  /** Release storage was read: the scan says which releases exist (else it serves them stale). */
  readonly storageRead: boolean;
  /** The `scan` member of the API's answers, as JSON. */
  readonly scanJson: string;
  /** The body of /api/v1/releases, as `scan --output json` prints it (toScanJson), compact. */
  readonly releasesBody: Buffer<ArrayBuffer>;
  /** Where each release's JSON lies in releasesBody, [start, end), by `namespace/release`. */
  readonly releaseSpans: ReadonlyMap<string, readonly [number, number]>;
}
