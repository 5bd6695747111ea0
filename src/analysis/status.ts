/**
 * Revision status of one release, from its stored history (labels) and its decoded
 * latest revision. Pure: no I/O, so every rule is unit-tested on fixtures.
 */
import type { UnreadableReason } from "../helm/decode.ts";
import type { ChartInfo, ReleaseRecord, ReleaseStatus, StorageDriver } from "../helm/release.ts";

export interface HistoryEntry {
  readonly revision: number;
  readonly status: ReleaseStatus;
  readonly updated?: Date;
  /** What the revision's own record says, when it was read (`diagnose` reads every revision). */
  readonly detail?: RevisionDetail;
}

/** A revision as `helm history` shows it, from its record; or why its record could not be read. */
export type RevisionDetail =
  | {
      readonly chart: ChartInfo;
      readonly applyMethod: "ssa" | "csa";
      /** Whole: a failed revision's description is helm's error. */
      readonly description: string;
    }
  | { readonly unreadable: string };

export interface RevisionInput {
  readonly revision: number;
  readonly status: ReleaseStatus;
  readonly createdAt?: Date;
  readonly modifiedAt?: Date;
}

export interface Unreadable {
  readonly revision: number;
  readonly reason: UnreadableReason;
  readonly message: string;
}

export interface StatusReport {
  readonly namespace: string;
  readonly release: string;
  readonly storage: StorageDriver;
  /** Chart of the latest revision; absent when that revision could not be read. */
  readonly chart?: ChartInfo;
  readonly status: ReleaseStatus;
  readonly description?: string;
  readonly revision: number;
  /** Newest revision whose status is deployed; absent when none is. */
  readonly deployedRevision?: number;
  readonly revisions: number;
  /** Consecutive failed revisions counted back from the latest; 0 when the latest did not fail. */
  readonly failedRevisions: number;
  readonly lastDeployed?: Date;
  readonly applyMethod?: "ssa" | "csa";
  readonly history: readonly HistoryEntry[];
  readonly unreadable?: Unreadable;
}

export interface StatusInput {
  readonly namespace: string;
  readonly release: string;
  readonly storage: StorageDriver;
  readonly revisions: readonly RevisionInput[];
  readonly latest:
    | { readonly ok: true; readonly record: ReleaseRecord }
    | ({ readonly ok: false } & Omit<Unreadable, "revision">);
  /** Records read of any revisions, by revision number (`diagnose`): their history entries show them. */
  readonly records?: ReadonlyMap<number, RecordRead>;
}

/** A revision's record as read: decoded, or why not. */
export type RecordRead =
  | { readonly ok: true; readonly record: ReleaseRecord }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export function analyzeStatus(input: StatusInput): StatusReport {
  const history = [...input.revisions].sort((a, b) => a.revision - b.revision);
  const latestRef = history.at(-1);
  if (!latestRef) throw new Error(`release ${input.namespace}/${input.release} has no revisions`);
  const record = input.latest.ok ? input.latest.record : undefined;
  // The record is authoritative; the labels stand in when it cannot be read.
  const status = record?.status ?? latestRef.status;
  const deployed = history.filter((entry) => entry.status === "deployed").at(-1);
  const lastDeployed = record?.lastDeployed ?? latestRef.modifiedAt ?? latestRef.createdAt;
  return {
    namespace: input.namespace,
    release: input.release,
    storage: input.storage,
    ...(record && { chart: record.chart, description: record.description, applyMethod: record.applyMethod }),
    status,
    revision: latestRef.revision,
    ...(deployed && { deployedRevision: deployed.revision }),
    revisions: history.length,
    failedRevisions: consecutiveFailures(history.map((entry) => entry.status).with(-1, status)),
    ...(lastDeployed && { lastDeployed }),
    history: history.map((entry) => historyEntry(entry, input.records?.get(entry.revision))),
    ...(!input.latest.ok && {
      unreadable: {
        revision: latestRef.revision,
        reason: input.latest.reason,
        message: input.latest.message,
      },
    }),
  };
}

/** As `helm history` shows a revision: its record's status and time where read, else its labels'. */
function historyEntry(entry: RevisionInput, read: RecordRead | undefined): HistoryEntry {
  const record = read?.ok ? read.record : undefined;
  const updated = record?.lastDeployed ?? entry.modifiedAt ?? entry.createdAt;
  const detail: RevisionDetail | undefined = record
    ? { chart: record.chart, applyMethod: record.applyMethod, description: record.description }
    : read && !read.ok
      ? { unreadable: `${read.reason}: ${read.message}` }
      : undefined;
  return {
    revision: entry.revision,
    status: record?.status ?? entry.status,
    ...(updated && { updated }),
    ...(detail && { detail }),
  };
}

/** Failed revisions at the end of the history, oldest first. */
function consecutiveFailures(statuses: readonly ReleaseStatus[]): number {
  let count = 0;
  for (let index = statuses.length - 1; index >= 0 && statuses[index] === "failed"; index--) count++;
  return count;
}
