/**
 * The drift analysis' memory across scans: each object's outcome by what decides it, so an
 * object none of these changed for is neither read again nor compared again. It alone answers
 * "is the outcome of this object at this version already known?", for the analysis that files
 * and reads outcomes and for the scan that decides which objects it must read. Entries no scan
 * used are dropped, so it holds one scan's worth.
 */
import type { ResourceRef } from "../../model/refs.ts";
import { GenerationalMemo } from "../../util/generational-memo.ts";
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
  private readonly memo = new GenerationalMemo<ObjectOutcome>();

  /** Whether the outcome is known (without counting it as used). */
  has(key: OutcomeKey): boolean {
    return this.memo.has(keyText(key));
  }

  get(key: OutcomeKey): ObjectOutcome | undefined {
    return this.memo.get(keyText(key));
  }

  set(key: OutcomeKey, outcome: ObjectOutcome): void {
    this.memo.set(keyText(key), outcome);
  }

  /** Ends a scan that read every kind: what it did not use is forgotten. Returns its hits and misses. */
  sweep(): { hits: number; misses: number } {
    return this.memo.sweep();
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
