/**
 * A memory across scans that holds one scan's worth: what a scan used (read or filed) is kept
 * for the next, and whatever no scan used since the last sweep is dropped by the next one.
 */
export class GenerationalMemo<V> {
  private previous = new Map<string, V>();
  private current = new Map<string, V>();
  private hitCount = 0;
  private missCount = 0;

  /** Whether it is known (without counting it as used). */
  has(key: string): boolean {
    return this.current.has(key) || this.previous.has(key);
  }

  get(key: string): V | undefined {
    const value = this.current.get(key) ?? this.previous.get(key);
    if (value === undefined) this.missCount++;
    else {
      this.hitCount++;
      this.current.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.current.set(key, value);
  }

  /** Ends a scan that saw everything: what it did not use is forgotten. Returns its hits and misses. */
  sweep(): { hits: number; misses: number } {
    const stats = { hits: this.hitCount, misses: this.missCount };
    this.previous = this.current;
    this.current = new Map();
    this.hitCount = 0;
    this.missCount = 0;
    return stats;
  }
}
