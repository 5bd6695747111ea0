/**
 * The drift analysis' memo across scans: each object's outcome by the versions that
 * decide it. Entries no scan used are dropped, so the memo holds one scan's worth.
 */
import type { ObjectDriftMemo, ObjectOutcome } from "../analysis/drift/drift.ts";

export class DriftCache implements ObjectDriftMemo {
  private previous = new Map<string, ObjectOutcome>();
  private current = new Map<string, ObjectOutcome>();
  private hitCount = 0;
  private missCount = 0;

  has(key: string): boolean {
    return this.current.has(key) || this.previous.has(key);
  }

  get(key: string): ObjectOutcome | undefined {
    const outcome = this.current.get(key) ?? this.previous.get(key);
    if (outcome) {
      this.hitCount++;
      this.current.set(key, outcome);
    } else this.missCount++;
    return outcome;
  }

  set(key: string, outcome: ObjectOutcome): void {
    this.current.set(key, outcome);
  }

  /** Ends a scan: what it did not use is forgotten. Returns the scan's hits and misses. */
  sweep(): { hits: number; misses: number } {
    const stats = { hits: this.hitCount, misses: this.missCount };
    this.previous = this.current;
    this.current = new Map();
    this.hitCount = 0;
    this.missCount = 0;
    return stats;
  }
}
