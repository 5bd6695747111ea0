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
}

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
}

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
    history: history.map((entry) => {
      const updated = entry.modifiedAt ?? entry.createdAt;
      return { revision: entry.revision, status: entry.status, ...(updated && { updated }) };
    }),
    ...(!input.latest.ok && {
      unreadable: {
        revision: latestRef.revision,
        reason: input.latest.reason,
        message: input.latest.message,
      },
    }),
  };
}

/** Failed revisions at the end of the history, oldest first. */
function consecutiveFailures(statuses: readonly ReleaseStatus[]): number {
  let count = 0;
  for (let index = statuses.length - 1; index >= 0 && statuses[index] === "failed"; index--) count++;
  return count;
}
