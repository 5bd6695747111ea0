/**
 * Holds the latest snapshot and its metrics, rendered and encoded once per scan, so a
 * scrape only writes bytes that are ready; swapped atomically per scan.
 */
import { renderSnapshot } from "../metrics/snapshot-metrics.ts";
import type { Snapshot } from "../scan/snapshot.ts";

export interface Published {
  readonly snapshot: Snapshot;
  readonly metricsBody: Buffer;
}

export class SnapshotStore {
  private published: Published | undefined;

  get current(): Published | undefined {
    return this.published;
  }

  async publish(snapshot: Snapshot): Promise<void> {
    const metricsBody = Buffer.from(await renderSnapshot(snapshot), "utf8");
    this.published = { snapshot, metricsBody };
  }
}
