/**
 * What one scan's collectors find, each adding its part: the releases collector comes first,
 * and each later collector reads what came before it.
 */
import type { HooksResult } from "../analysis/hooks.ts";
import type { ClusterObject } from "../analysis/hooks.ts";
import type { DecodeResult } from "../helm/decode.ts";
import type { RevisionRef, StorageListing } from "../read/release-storage.ts";
import type { ReleaseScope } from "../read/release-scope.ts";
import type { ReleaseFindings } from "../report/snapshot.ts";
import type { StatusReport } from "../analysis/status.ts";
import type { ReadinessReport } from "../analysis/rollback/types.ts";
import type { LiveExaminer } from "./examiner.ts";

/** One release as this scan saw it: its revisions (statuses as the records say, where read) and records. */
export interface ReleaseHistory {
  readonly status: StatusReport;
  readonly revisions: readonly RevisionRef[];
  readonly latest: DecodeResult;
  /** The revision Helm believes is live (newest deployed, else the latest) and its record. */
  readonly base: { readonly ref: RevisionRef; readonly result: DecodeResult };
}

export interface ReleasesSeen {
  readonly histories: readonly ReleaseHistory[];
  /** The revisions of the releases in scope, and what could not be listed. */
  readonly listing: StorageListing;
  /** Which releases this scan covers: those out of scope are neither read nor ever gone. */
  readonly scope: ReleaseScope;
  /** Releases listed whose records could not be fetched: unknown this scan, with why. */
  readonly unfetched: ReadonlyMap<string, string>;
}

export interface DriftFindings {
  /** Each release's drift, or why it could not be checked, by releaseKey. */
  readonly byRelease: ReadonlyMap<string, Pick<ReleaseFindings, "drift" | "driftError">>;
  /** Helm-labelled objects the per-kind lists returned, for leftover detection. */
  readonly listed: readonly ClusterObject[];
  /** Every kind was read: what the memos hold that this scan did not use is truly unused. */
  readonly complete: boolean;
}

export interface ReadinessFindings {
  /** Each release's rollback and upgrade readiness, by releaseKey. */
  readonly byRelease: ReadonlyMap<string, ReadinessReport>;
}

export interface Findings {
  readonly releases: ReleasesSeen;
  /** What examines live objects during the drift collector's read, by the collector it serves. */
  readonly examiners?: ReadonlyMap<string, LiveExaminer>;
  readonly drift?: DriftFindings;
  readonly hooks?: HooksResult;
  readonly readiness?: ReadinessFindings;
}

/** What the scan knows when release storage could not be read at all. */
export const NOTHING_SEEN: ReleasesSeen = {
  histories: [],
  listing: { revisions: [], errors: [{ storage: "secret", path: "", message: "release storage not read" }] },
  scope: { includes: () => false, judgesHooksIn: () => false },
  unfetched: new Map(),
};
