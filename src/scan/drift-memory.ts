/**
 * When the exporter first saw each drifted resource. managedFields date most drift and
 * survive restarts; a deleted object leaves no trace in the cluster, so its drift is
 * dated from when this process first saw it missing.
 */
export class DriftMemory {
  private readonly firstSeen = new Map<string, Date>();

  /** Remembers `key` (first call wins) and forgets keys not seen in this scan. */
  sweep(keys: readonly string[], now: Date): (key: string) => Date {
    const live = new Set(keys);
    for (const key of this.firstSeen.keys()) if (!live.has(key)) this.firstSeen.delete(key);
    for (const key of keys) if (!this.firstSeen.has(key)) this.firstSeen.set(key, now);
    return (key) => this.firstSeen.get(key) ?? now;
  }
}
