/**
 * A concern that must see live objects examines them during the scan's one read of them (the
 * drift collector's pass), instead of reading them again: copies are compared as each kind is
 * read and then let go, so a second read would be a second round of requests.
 */
import type { LiveLookup } from "../analysis/drift/drift.ts";
import type { ResourceRef } from "../model/refs.ts";

export interface LiveExaminer {
  /** The objects it needs to see. */
  refs(): readonly ResourceRef[];
  /** Whether it knows its outcome for this object (by refKey) at this live version already. */
  knows(key: string, liveVersion: string): boolean;
  /** Examines a live copy while it is in hand, and keeps its outcome. */
  examine(key: string, live: Readonly<Record<string, unknown>>, liveVersion: string): void;
  /** How the read left each of its objects (found, missing, unchecked), once all is read. */
  settle(key: string, lookup: LiveLookup): void;
}
