/** Why a release needs a human, from what was found of it; empty when all is well. */
import type { HooksReport } from "../analysis/hooks.ts";
import type { ReadinessReport, RollbackBlocker } from "../analysis/rollback/types.ts";
import { isPending } from "../helm/release.ts";
import { objectName } from "../model/refs.ts";
import type { DriftSummary } from "./drift-summary.ts";
import type { ReleaseFindings, SnapshotParts } from "./snapshot.ts";

export function attentionReasons(report: ReleaseFindings, summary: DriftSummary | undefined): string[] {
  const reasons: string[] = [];
  if (report.stale) {
    reasons.push(
      `not seen by this scan (${report.stale.reason}); shown as last seen at ${report.stale.since.toISOString()}`,
    );
  }
  if (report.unreadable) {
    reasons.push(
      `revision ${String(report.unreadable.revision)} unreadable (${report.unreadable.reason}): ${report.unreadable.message}`,
    );
  } else if (report.status === "failed" || isPending(report.status)) {
    const failures =
      report.failedRevisions > 1 ? ` (${String(report.failedRevisions)} failed revisions in a row)` : "";
    reasons.push(
      `latest revision ${String(report.revision)} is ${report.status}${failures}${report.description ? `: ${report.description}` : ""}`,
    );
  }
  if (report.driftError) reasons.push(`drift not checked: ${report.driftError}`);
  if (summary) {
    if (summary.drifted > 0) {
      const managers = [...summary.managers.keys()].join(", ");
      const added = summary.added > 0 ? `, ${String(summary.added)} with fields added by hand` : "";
      reasons.push(
        `drifted: ${String(summary.modified)} modified${added}, ${String(summary.missing)} missing (by ${managers})`,
      );
    }
    const unchecked = Object.entries(summary.unchecked).filter(([, count]) => count > 0);
    if (unchecked.length > 0) {
      reasons.push(
        `could not check ${unchecked.map(([reason, count]) => `${String(count)} ${reason}`).join(", ")} resources`,
      );
    }
  }
  if (report.hooks) reasons.push(...hookReasons(report.hooks));
  if (report.readiness) reasons.push(...readinessReasons(report.readiness, report.revisions));
  return reasons;
}

/**
 * One stored revision (a first install, or --history-max 1) has nothing to roll back to by
 * design: not news, as HelmReleaseRollbackBlocked says too.
 */
export function noTargetByDesign(blocker: RollbackBlocker, storedRevisions: number): boolean {
  return blocker.reason === "no_target" && storedRevisions <= 1;
}

function readinessReasons(readiness: ReadinessReport, storedRevisions: number): string[] {
  const reasons: string[] = [];
  const { rollback, upgrade } = readiness;
  const blockers = rollback.blockers.filter((blocker) => !noTargetByDesign(blocker, storedRevisions));
  const target =
    rollback.targetRevision === undefined ? "" : ` to revision ${String(rollback.targetRevision)}`;
  const words = (list: typeof blockers) =>
    list.map((blocker) => `${blocker.reason}: ${blocker.message}`).join("; ");
  const known = blockers.filter((blocker) => blocker.reason !== "unchecked");
  if (known.length > 0) reasons.push(`helm rollback${target} would fail: ${words(blockers)}`);
  else if (blockers.length > 0)
    reasons.push(`could not check whether helm rollback${target} would succeed: ${words(blockers)}`);
  // A pending release is already said above, with its status.
  for (const blocker of upgrade.blockers.filter((candidate) => candidate.reason !== "pending")) {
    reasons.push(
      blocker.reason === "unchecked"
        ? `could not check whether helm upgrade would succeed: ${blocker.message}`
        : `helm upgrade would fail (${blocker.reason}): ${blocker.message}`,
    );
  }
  return reasons;
}

function hookReasons(hooks: HooksReport): string[] {
  const reasons: string[] = [];
  for (const hook of hooks.orphaned)
    reasons.push(`hook ${objectName(hook)} left behind (${hook.reason}, revision ${String(hook.revision)})`);
  for (const hook of hooks.running.filter((running) => running.state !== "active")) {
    reasons.push(
      `hook ${objectName(hook)} is recorded as running but its object is ${hook.state}: helm is no longer watching it`,
    );
  }
  for (const leftover of hooks.leftovers.filter((item) => item.reason === "leftover")) {
    reasons.push(`${objectName(leftover)} is no longer in the release but still exists`);
  }
  for (const stuck of hooks.terminating) {
    reasons.push(
      `${objectName(stuck)} stuck deleting since ${stuck.deletionTimestamp.toISOString()} (finalizers: ${stuck.finalizers.join(", ")})`,
    );
  }
  return reasons;
}

/** Findings that belong to no existing release: hooks and leftovers of releases that are gone. */
export function strayReasons(snapshot: Pick<SnapshotParts, "unreferencedHooks" | "goneReleases">): string[] {
  return [
    ...snapshot.unreferencedHooks.map(
      (hook) =>
        `${hook.kind} ${hook.namespace ? `${hook.namespace}/` : ""}${hook.name}: ${hook.hook} hook of a release that is gone`,
    ),
    ...snapshot.goneReleases.flatMap((gone) =>
      gone.leftovers
        .filter((leftover) => leftover.reason === "leftover")
        .map(
          (leftover) =>
            `${leftover.kind} ${leftover.namespace ? `${leftover.namespace}/` : ""}${leftover.name}: left by release ${gone.namespace}/${gone.release}, which is gone`,
        ),
    ),
  ];
}
