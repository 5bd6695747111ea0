/**
 * The result of one scan, the finished answer: what each concern found of each release, and
 * what every output needs of it (summaries, reasons for attention), computed once here.
 * Outputs (metrics, JSON API, CLI) read only this; nothing downstream talks to the cluster.
 */
import type { DriftReport } from "../analysis/drift/drift.ts";
import type { HooksReport, Leftover } from "../analysis/hooks.ts";
import type { ObjectRef } from "../model/refs.ts";
import type { ReadinessReport } from "../analysis/rollback/types.ts";
import type { StatusReport } from "../analysis/status.ts";
import { attentionReasons, strayReasons } from "./attention.ts";
import { summarizeDrift, type DriftSummary } from "./drift-summary.ts";

export interface CollectorResult {
  readonly name: string;
  readonly success: boolean;
  readonly durationSeconds: number;
  readonly errors: readonly string[];
}

/** What the scan's concerns found of one release, before its report is complete. */
export interface ReleaseFindings extends StatusReport {
  /** Drift against the revision Helm believes is live; absent for uninstalled releases. */
  readonly drift?: DriftReport;
  /** Why drift could not be checked at all (the base revision is unreadable). */
  readonly driftError?: string;
  /** Orphaned and running hooks, leftovers, stuck deletions. */
  readonly hooks?: HooksReport;
  /** Whether a bare `helm rollback` and the next `helm upgrade` would succeed now, and why not. */
  readonly readiness?: ReadinessReport;
  /**
   * Set when this scan could not see the release (its storage could not be listed, or its
   * record fetched): everything above is as last seen, at `since`.
   */
  readonly stale?: { readonly since: Date; readonly reason: string };
}

/** A release's findings, and what every output shows of them, computed once (releaseReport). */
export interface ReleaseReport extends ReleaseFindings {
  /** The drift counted: present with `drift`. */
  readonly driftSummary?: DriftSummary;
  /** Why the release needs a human, most pressing first; empty when all is well. */
  readonly attention: readonly string[];
}

/**
 * success: everything read; partial: release storage was read but some collector failed (some
 * findings are unknown); failed: release storage could not be read, so which releases exist is
 * unknown (those last seen are served stale).
 */
export type ScanOutcome = "success" | "partial" | "failed";

/** What a scan found, before the snapshot is complete (completeSnapshot). */
export interface SnapshotParts {
  readonly startedAt: Date;
  readonly finishedAt: Date;
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

/** The immutable, finished answer of one scan: every output only formats it. */
export interface Snapshot extends SnapshotParts {
  readonly durationSeconds: number;
  /** All collectors succeeded: every release that exists was seen and analysed. */
  readonly success: boolean;
  /** Findings that belong to no existing release (hooks and leftovers of releases that are gone). */
  readonly strays: readonly string[];
  /** A release or a stray finding needs a human: `scan` exits 1. */
  readonly needsAttention: boolean;
}

/** A release's report, its summary and reasons for attention computed from its findings. */
export function releaseReport(findings: ReleaseFindings): ReleaseReport {
  const driftSummary = findings.drift ? summarizeDrift(findings.drift) : undefined;
  return {
    ...findings,
    ...(driftSummary && { driftSummary }),
    attention: attentionReasons(findings, driftSummary),
  };
}

/** The finished snapshot: what every output needs computed, then frozen. */
export function completeSnapshot(parts: SnapshotParts): Snapshot {
  const strays = strayReasons(parts);
  return freeze({
    ...parts,
    durationSeconds: (parts.finishedAt.getTime() - parts.startedAt.getTime()) / 1000,
    success: parts.collectors.every((collector) => collector.success),
    strays,
    needsAttention: strays.length > 0 || parts.releases.some((release) => release.attention.length > 0),
  });
}

/** Freezes the snapshot and everything in it, so no output can change what another sees. */
function freeze(snapshot: Snapshot): Snapshot {
  const freezeDeep = (value: unknown): void => {
    if (value && typeof value === "object" && !Object.isFrozen(value) && !(value instanceof Date)) {
      Object.freeze(value);
      for (const child of Object.values(value)) freezeDeep(child);
    }
  };
  freezeDeep(snapshot);
  return snapshot;
}
