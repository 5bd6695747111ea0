/** Holds the latest snapshot and its pre-rendered metrics text; swapped atomically per scan. */
import { renderSnapshot } from "../metrics/snapshot-metrics.ts";
import type { Snapshot } from "../scan/snapshot.ts";

export interface Published {
  readonly snapshot: Snapshot;
  readonly metricsText: string;
}

export class SnapshotStore {
  private published: Published | undefined;

  get current(): Published | undefined {
    return this.published;
  }

  async publish(snapshot: Snapshot): Promise<void> {
    const metricsText = await renderSnapshot(snapshot);
    this.published = { snapshot, metricsText };
  }
}
