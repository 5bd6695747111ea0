/**
 * When the exporter first saw each drift it cannot date otherwise. managedFields date most
 * drift and survive restarts; a deleted object leaves no trace in the cluster, so its drift is
 * dated from when this process first saw it missing.
 */
export class FirstSeen {
  private readonly firstSeen = new Map<string, Date>();

  /**
   * Remembers `keys` (first call wins) and, when the scan saw all there is (`forgetUnseen`),
   * forgets keys it did not see: a drift a failed read did not see is not gone.
   */
  record(keys: readonly string[], now: Date, options: { forgetUnseen: boolean }): (key: string) => Date {
    const live = new Set(keys);
    if (options.forgetUnseen)
      for (const key of this.firstSeen.keys()) if (!live.has(key)) this.firstSeen.delete(key);
    for (const key of keys) if (!this.firstSeen.has(key)) this.firstSeen.set(key, now);
    return (key) => this.firstSeen.get(key) ?? now;
  }
}
