/**
 * The immutable result of one scan. Outputs (metrics, JSON API, CLI) read only this;
 * nothing downstream of a snapshot talks to the cluster.
 */
import type { DriftReport } from "../analysis/drift/drift.ts";
import type { HooksReport, Leftover } from "../analysis/hooks.ts";
import type { ObjectRef } from "../model/refs.ts";
import type { StatusReport } from "../analysis/status.ts";

export interface CollectorResult {
  readonly name: string;
  readonly success: boolean;
  readonly durationSeconds: number;
  readonly errors: readonly string[];
}

export interface ReleaseReport extends StatusReport {
  /** Drift against the revision Helm believes is live; absent for uninstalled releases. */
  readonly drift?: DriftReport;
  /** Why drift could not be checked at all (the base revision is unreadable). */
  readonly driftError?: string;
  /** Orphaned and running hooks, leftovers, stuck deletions. */
  readonly hooks?: HooksReport;
  /**
   * Set when this scan could not see the release (its storage could not be listed, or its
   * record fetched): everything above is as last seen, at `since`.
   */
  readonly stale?: { readonly since: Date; readonly reason: string };
}

/**
 * success: everything read; partial: release storage was read but some collector failed (some
 * findings are unknown); failed: release storage could not be read, so which releases exist is
 * unknown (those last seen are served stale).
 */
export type ScanOutcome = "success" | "partial" | "failed";

export interface Snapshot {
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly durationSeconds: number;
  /** All collectors succeeded: every release that exists was seen and analysed. */
  readonly success: boolean;
  readonly outcome: ScanOutcome;
  /**
   * How long before the scan ended the oldest collection it relied on was last heard from (a
   * list answered, a watch event, bookmark or reopen). Watched data older than the dead-watch
   * bound is listed again, so this says how current a serving exporter's answer is.
   */
  readonly dataAgeSeconds: number;
  readonly releases: readonly ReleaseReport[];
  /** Hook objects no stored release references (their release was uninstalled or purged). */
  readonly unreferencedHooks: readonly (ObjectRef & { readonly hook: string })[];
  /** Objects Helm applied for releases that no longer exist. */
  readonly goneReleases: readonly {
    readonly namespace: string;
    readonly release: string;
    readonly leftovers: readonly Leftover[];
  }[];
  readonly collectors: readonly CollectorResult[];
}

/** Freezes the snapshot and everything in it, so no output can change what another sees. */
export function freezeSnapshot(snapshot: Snapshot): Snapshot {
  const freeze = (value: unknown): void => {
    if (value && typeof value === "object" && !Object.isFrozen(value) && !(value instanceof Date)) {
      Object.freeze(value);
      for (const child of Object.values(value)) freeze(child);
    }
  };
  freeze(snapshot);
  return snapshot;
}
