/**
 * What a rollback (and the next upgrade) would meet: the vocabulary of the rollback readiness
 * analysis, shared by the analysis, the report and its outputs. docs/rollback.md says what Helm
 * does in each case, verified with real helm v3.22 and v4.3.
 */

/** Why a bare `helm rollback` would fail, or could not be fully checked. */
export const ROLLBACK_BLOCKER_REASONS = [
  "no_target",
  "api_not_served",
  "immutable_field",
  "ssa_conflict",
  "hook_conflict",
  "ownership",
  "namespace_terminating",
  "target_failed",
  "unchecked",
] as const;
export type RollbackBlockerReason = (typeof ROLLBACK_BLOCKER_REASONS)[number];

/** Why `helm upgrade` would fail before it starts, or could not be fully checked (`unchecked`). */
export const UPGRADE_BLOCKER_REASONS = [
  "pending",
  "no_deployed",
  "api_not_served",
  "namespace_terminating",
  "unchecked",
] as const;
export type UpgradeBlockerReason = (typeof UPGRADE_BLOCKER_REASONS)[number];

/** What a failed rollback leaves behind (docs/rollback.md "What a failure leaves behind"). */
export type RollbackLeaves =
  /** Nothing written: the release is as before. */
  | "nothing"
  /** The new revision stays pending-rollback: every upgrade is refused until a rollback succeeds. */
  | "pending-rollback"
  /** The new revision is failed and the one that was deployed superseded: nothing is deployed. */
  | "failed";

export interface BlockedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface RollbackBlocker {
  readonly reason: RollbackBlockerReason;
  /** The object (or hook) that blocks, when one does. */
  readonly object?: BlockedObject;
  /**
   * The error Helm would print, worded as Helm words it (without its `Error: ` prefix); `...`
   * stands where Helm prints what a read-only observer cannot know (the apiserver's rendering
   * of a value).
   */
  readonly message: string;
  /** What the exporter adds: why, or how helm versions differ here. */
  readonly note?: string;
  /** What the failed rollback would leave behind; absent for `unchecked`. */
  readonly leaves?: RollbackLeaves;
}

/** A field a successful rollback would set back: a change made by hand, lost. */
export interface RevertedField {
  readonly object: BlockedObject;
  readonly path: string;
  /** Who made the change (managedFields), when known. */
  readonly managers: readonly string[];
}

/** An object the rollback would take over: it exists live, not as this release's, and is not in Last. */
export interface TakenOver {
  readonly object: BlockedObject;
  /** Whose it is now: another release (`namespace/release`), or nobody's (made by hand). */
  readonly owner: string;
}

export interface RollbackReadiness {
  /** The revision a bare rollback goes back to (Last - 1), whatever its status; absent when none exists. */
  readonly targetRevision?: number;
  readonly targetStatus?: string;
  /** How the rollback would apply the target: ssa (Helm 4 server-side) or csa (client-side). */
  readonly applyMethod?: "ssa" | "csa";
  /** A bare `helm rollback` would succeed now: no blocker, everything checked. */
  readonly ready: boolean;
  readonly blockers: readonly RollbackBlocker[];
  readonly reverted: readonly RevertedField[];
  readonly takenOver: readonly TakenOver[];
}

export interface UpgradeBlocker {
  readonly reason: UpgradeBlockerReason;
  /** The error Helm would print (without `Error: UPGRADE FAILED: `). */
  readonly message: string;
  /** For `pending`: since when the release has been pending (its latest revision's time). */
  readonly since?: Date;
}

export interface UpgradeReadiness {
  /** A known blocker: `helm upgrade` would fail. Only `unchecked` ones: unknown, not blocked. */
  readonly blocked: boolean;
  readonly blockers: readonly UpgradeBlocker[];
}

/** Rollback and upgrade readiness of one release, and its stored revisions that use unserved APIs. */
export interface ReadinessReport {
  readonly rollback: RollbackReadiness;
  readonly upgrade: UpgradeReadiness;
  /** Stored revisions whose manifest or hooks use an API the cluster does not serve (of those checked). */
  readonly unservedApiRevisions: readonly number[];
}
