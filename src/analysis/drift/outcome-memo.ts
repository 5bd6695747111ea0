/**
 * The drift analysis' memory across scans: each object's outcome by what decides it, so an
 * object none of these changed for is neither read again nor compared again. It alone answers
 * "is the outcome of this object at this version already known?", for the analysis that files
 * and reads outcomes and for the scan that decides which objects it must read. Entries no scan
 * used are dropped, so it holds one scan's worth.
 */
import type { ResourceRef } from "../../model/refs.ts";
import type { ObjectOutcome } from "./drift.ts";

/** Everything that decides an object's outcome. */
export interface OutcomeKey {
  /** uid/resourceVersion of the stored revision that declares the object. */
  readonly revisionVersion: string;
  readonly ref: ResourceRef;
  /** uid/resourceVersion of the live object. */
  readonly liveVersion: string;
  /** An HPA scales it, so a changed spec.replicas is meant (when configured so). */
  readonly scaledByHpa: boolean;
}

export class OutcomeMemo {
  private previous = new Map<string, ObjectOutcome>();
  private current = new Map<string, ObjectOutcome>();
  private hitCount = 0;
  private missCount = 0;

  /** Whether the outcome is known (without counting it as used). */
  has(key: OutcomeKey): boolean {
    const text = keyText(key);
    return this.current.has(text) || this.previous.has(text);
  }

  get(key: OutcomeKey): ObjectOutcome | undefined {
    const text = keyText(key);
    const outcome = this.current.get(text) ?? this.previous.get(text);
    if (outcome) {
      this.hitCount++;
      this.current.set(text, outcome);
    } else this.missCount++;
    return outcome;
  }

  set(key: OutcomeKey, outcome: ObjectOutcome): void {
    this.current.set(keyText(key), outcome);
  }

  /** Ends a scan that read every kind: what it did not use is forgotten. Returns its hits and misses. */
  sweep(): { hits: number; misses: number } {
    const stats = { hits: this.hitCount, misses: this.missCount };
    this.previous = this.current;
    this.current = new Map();
    this.hitCount = 0;
    this.missCount = 0;
    return stats;
  }
}

function keyText(key: OutcomeKey): string {
  const { ref } = key;
  return [
    key.revisionVersion,
    ref.apiVersion,
    ref.kind,
    ref.namespace ?? "",
    ref.name,
    key.liveVersion,
    key.scaledByHpa ? "hpa" : "",
  ].join("|");
}
