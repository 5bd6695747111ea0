/**
 * What a person should do about one release, from its report: the verdict of `diagnose` and its
 * next steps, safest first, as commands to copy. Pure; the outputs (output/diagnose.ts) only
 * format it.
 */
import type { RunningHook } from "../analysis/hooks.ts";
import type { BlockedObject, RollbackReadiness } from "../analysis/rollback/types.ts";
import { isPending } from "../helm/release.ts";
import { noTargetByDesign } from "./attention.ts";
import { objectName } from "../model/refs.ts";
import type { ReleaseReport } from "./snapshot.ts";

export type Safety = "read" | "release" | "overwrite" | "delete";
const SAFETY_ORDER: readonly Safety[] = ["read", "release", "overwrite", "delete"];

export interface NextStep {
  readonly safety: Safety;
  /** What to do and why; for `overwrite` and `delete`, what it overwrites or deletes. */
  readonly text: string;
  readonly commands: readonly string[];
}

export interface Diagnosis {
  readonly healthy: boolean;
  /** The verdict's one line: the single most important thing to do, or why all is well. */
  readonly headline: string;
  /** Safest first. */
  readonly steps: readonly NextStep[];
}

/** What a person should do about the release, from its report: the verdict and next steps. */
export function diagnosis(report: ReleaseReport): Diagnosis {
  const steps = [...nextSteps(report)].sort(
    (a, b) => SAFETY_ORDER.indexOf(a.safety) - SAFETY_ORDER.indexOf(b.safety),
  );
  const healthy = report.attention.length === 0;
  return { healthy, headline: healthy ? healthyLine(report) : headline(report), steps };
}

// -------------------------------------------------------------------------------------------
// The verdict and the next steps

function healthyLine(report: ReleaseReport): string {
  const rollback = report.readiness?.rollback;
  const back =
    rollback?.ready && rollback.targetRevision !== undefined
      ? `; a rollback to revision ${String(rollback.targetRevision)} would succeed`
      : "";
  return `revision ${String(report.revision)} ${report.status}, nothing to do${back}`;
}

/** The single most important thing, by what blocks the next deploy first. */
function headline(report: ReleaseReport): string {
  if (report.unreadable)
    return `revision ${String(report.revision)}'s record cannot be read: helm cannot operate on this release until it can`;
  if (isPending(report.status)) {
    const running = runningHooksOfLatest(report);
    if (running.some((hook) => hook.state === "active"))
      return `${report.status}, and a hook is still active: wait for it, do not roll back or upgrade yet`;
    const target = lockBreaker(report);
    return target === undefined
      ? `${report.status} and nobody is at work on it: the release is locked, and no rollback can be shown to free it`
      : `${report.status} and nobody is at work on it: roll back to revision ${String(target)} to free the lock`;
  }
  if (report.status === "failed")
    return `revision ${String(report.revision)} failed: ${firstLine(report.description ?? "")}`;
  // What could not be checked is not a blocker: the readiness section says what was not read.
  const upgradeBlocked = report.readiness?.upgrade.blockers.find((blocker) => blocker.reason !== "unchecked");
  if (upgradeBlocked) return `helm upgrade would fail: ${firstLine(upgradeBlocked.message)}`;
  if (report.readiness && blockedRollback(report))
    return `helm rollback would fail (${[...new Set(report.readiness.rollback.blockers.map((blocker) => blocker.reason))].join(", ")}): fix that before you need it`;
  if ((report.driftSummary?.drifted ?? 0) > 0)
    return "changed by hand since it was deployed: keep the changes in the chart, or undo them";
  return report.attention[0] ?? "";
}

function blockedRollback(report: ReleaseReport): boolean {
  const rollback = report.readiness?.rollback;
  if (!rollback || rollback.ready) return false;
  return !rollback.blockers.every((blocker) => noTargetByDesign(blocker, report.revisions));
}

/** The revision a rollback that frees a pending lock should go to: the bare target when ready, else the last good. */
function lockBreaker(report: ReleaseReport): number | undefined {
  const rollback = report.readiness?.rollback;
  if (rollback?.ready) return rollback.targetRevision;
  return lastGood(report);
}

/**
 * The newest revision before the latest that was deployed (deployed or superseded) and whose
 * APIs the cluster still serves: the usual revision to go back to when the bare target is not.
 */
function lastGood(report: ReleaseReport): number | undefined {
  const unserved = new Set(report.readiness?.unservedApiRevisions ?? []);
  return report.history
    .filter(
      (entry) =>
        entry.revision < report.revision &&
        (entry.status === "deployed" || entry.status === "superseded") &&
        !unserved.has(entry.revision),
    )
    .at(-1)?.revision;
}

function nextSteps(report: ReleaseReport): NextStep[] {
  const steps: NextStep[] = [];
  const ns = `-n ${report.namespace}`;
  const rel = report.release;
  const diagnoseAt = (revision: number) =>
    `helm-drift-exporter diagnose ${rel} ${ns} --revision ${String(revision)}`;
  const rollbackTo = (revision: number) => rollbackStep(report, revision);
  if (report.unreadable)
    steps.push({
      safety: "read",
      text: `Look at revision ${String(report.revision)}'s stored record: helm reads it as the exporter does`,
      commands: [
        `kubectl ${ns} get ${report.storage} sh.helm.release.v1.${rel}.v${String(report.revision)} -o yaml`,
      ],
    });
  if (isPending(report.status)) {
    const active = runningHooksOfLatest(report).filter((hook) => hook.state === "active");
    if (active.length > 0)
      steps.push({
        safety: "read",
        text: "Wait: the hook is still running. Watch it, and read its logs; act only once it has ended",
        commands: active.flatMap((hook) => [
          `kubectl ${ns} get ${hook.kind.toLowerCase()} ${hook.name} --watch`,
          ...(hook.kind === "Job" ? [`kubectl ${ns} logs job/${hook.name} --all-containers`] : []),
        ]),
      });
    else {
      const target = lockBreaker(report);
      if (target !== undefined) {
        if (!report.readiness?.rollback.ready) steps.push(checkStep(diagnoseAt(target), target));
        steps.push({
          ...rollbackTo(target),
          text: `Free the lock: roll back to revision ${String(target)} (rollback ignores the lock; it writes a new revision)${revertedWords(report, target)}`,
        });
      }
    }
  }
  const noneDeployed = report.readiness?.upgrade.blockers.some((blocker) => blocker.reason === "no_deployed");
  if ((report.status === "failed" || noneDeployed) && !isPending(report.status)) {
    const good = lastGood(report);
    const rollback = report.readiness?.rollback;
    const bare = rollback?.ready ? rollback.targetRevision : undefined;
    const target = good ?? bare;
    if (target !== undefined) {
      if (target !== bare) steps.push(checkStep(diagnoseAt(target), target));
      steps.push({
        ...rollbackTo(target),
        text: `Go back to revision ${String(target)}${target === good ? ", the last that deployed," : ""} while you fix what failed${revertedWords(report, target)}`,
      });
    }
  }
  steps.push(...blockerSteps(report, diagnoseAt));
  const mapKubeApis = mapKubeApisStep(report);
  if (mapKubeApis) steps.push(mapKubeApis);
  steps.push(...driftSteps(report, diagnoseAt));
  steps.push(...hookSteps(report));
  return steps;
}

const CURRENT_UNSERVED = "unable to build kubernetes objects from current release manifest";

/**
 * The latest release's manifest uses an API the cluster no longer serves: helm cannot build it,
 * to roll back or to upgrade. One step for both: the one fix serves either.
 */
function mapKubeApisStep(report: ReleaseReport): NextStep | undefined {
  const readiness = report.readiness;
  const operations = [
    ...(readiness && blockedRollback(report) && rollbackCurrentUnserved(readiness.rollback)
      ? ["rollback"]
      : []),
    ...(readiness?.upgrade.blockers.some((blocker) => blocker.reason === "api_not_served")
      ? ["upgrade"]
      : []),
  ];
  if (operations.length === 0) return undefined;
  const where = `${report.release} --namespace ${report.namespace}`;
  return {
    safety: "release",
    text: `Every ${operations.join(" and ")} fails building the current manifest, which uses an API the cluster no longer serves: rewrite the stored release to served APIs with the helm-mapkubeapis plugin (it edits the latest release record; it deletes no object), then ${operations.join(" or ")}`,
    commands: [`helm mapkubeapis ${where} --dry-run`, `helm mapkubeapis ${where}`],
  };
}

/** The current manifest unserved fails every rollback, whatever its target. */
function rollbackCurrentUnserved(rollback: RollbackReadiness): boolean {
  return rollback.blockers.some((blocker) => blocker.message.startsWith(CURRENT_UNSERVED));
}

function checkStep(command: string, revision: number): NextStep {
  return {
    safety: "read",
    text: `Check that a rollback to revision ${String(revision)} would succeed before you run it`,
    commands: [command],
  };
}

function rollbackStep(report: ReleaseReport, revision: number): NextStep {
  return {
    safety: "release",
    text: `Roll back to revision ${String(revision)}`,
    commands: [`helm rollback ${report.release} ${String(revision)} -n ${report.namespace}`],
  };
}

function revertedWords(report: ReleaseReport, target: number): string {
  const rollback = report.readiness?.rollback;
  if (rollback?.targetRevision !== target || rollback.reverted.length === 0) return "";
  return `; it sets back ${String(rollback.reverted.length)} change(s) made by hand, listed under Rollback readiness`;
}

/** What clears each rollback blocker, worded with what it costs. */
function blockerSteps(report: ReleaseReport, diagnoseAt: (revision: number) => string): NextStep[] {
  const rollback = report.readiness?.rollback;
  if (!rollback || rollback.ready || !blockedRollback(report)) return [];
  const steps: NextStep[] = [];
  const target = rollback.targetRevision;
  const good = lastGood(report);
  // The current manifest unserved fails every rollback, whatever its target: mapKubeApisStep.
  const currentUnserved = rollbackCurrentUnserved(rollback);
  const targetCannotWork = rollback.blockers.some(
    (blocker) =>
      blocker.reason === "target_failed" ||
      blocker.reason === "no_target" ||
      (blocker.reason === "api_not_served" && !blocker.message.startsWith(CURRENT_UNSERVED)),
  );
  if (good !== undefined && good !== target && targetCannotWork && !currentUnserved)
    steps.push(
      {
        safety: "read",
        text: `A bare rollback goes to revision ${target === undefined ? "Last - 1" : String(target)}, which cannot work: check revision ${String(good)}, the last that deployed, instead`,
        commands: [diagnoseAt(good)],
      },
      {
        ...rollbackStep(report, good),
        text: `If it is ready, roll back to revision ${String(good)} by number, not with a bare rollback`,
      },
    );
  const conflicting: BlockedObject[] = [];
  for (const blocker of rollback.blockers) {
    const object = blocker.object;
    switch (blocker.reason) {
      case "hook_conflict":
        if (object)
          steps.push({
            safety: "delete",
            text: `Delete the hook object an earlier run left behind, so the rollback's hook can be created again: this deletes ${objectName(object)}${object.kind === "Job" ? " and its Pods (their logs go with them)" : ""}`,
            commands: [
              `kubectl -n ${object.namespace ?? report.namespace} delete ${object.kind.toLowerCase()} ${object.name}`,
            ],
          });
        break;
      case "immutable_field":
        if (object)
          steps.push({
            safety: "delete",
            text: `The apiserver will not change this field in place; deleting the object lets the rollback create it anew: this deletes ${objectName(object)}${deletionCost(object.kind)}`,
            commands: [
              `kubectl -n ${object.namespace ?? report.namespace} delete ${object.kind.toLowerCase()} ${object.name}`,
            ],
          });
        break;
      case "ssa_conflict":
      case "ownership":
        if (object && !conflicting.some((seen) => objectName(seen) === objectName(object)))
          conflicting.push(object);
        break;
      case "namespace_terminating":
        steps.push({
          safety: "read",
          text: `Namespace ${report.namespace} is being deleted: no rollback or upgrade can write its record. See what holds the deletion`,
          commands: [`kubectl get namespace ${report.namespace} -o jsonpath='{.status.conditions}'`],
        });
        break;
      case "unchecked":
        steps.push({
          safety: "read",
          text: `Not all could be checked (${blocker.message}): check by hand, or let the exporter read it`,
          commands: [],
        });
        break;
      case "api_not_served":
      case "no_target":
      case "target_failed":
        break; // another revision, or mapkubeapis, above
    }
  }
  // One rollback overwrites every conflict at once: one step, naming them all.
  if (target !== undefined && conflicting.length > 0)
    steps.push({
      safety: "overwrite",
      text: `Roll back with --force-conflicts (helm v4): helm takes the conflicting fields of ${conflicting.map(objectName).join(", ")} from their other managers and overwrites their values with revision ${String(target)}'s`,
      commands: [
        `helm rollback ${report.release} ${String(target)} -n ${report.namespace} --force-conflicts`,
      ],
    });
  return dedupe(steps);
}

function deletionCost(kind: string): string {
  switch (kind) {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return " and its Pods (downtime until the rollback creates them again)";
    case "Service":
      return " (its cluster IP changes)";
    case "PersistentVolumeClaim":
      return " (with a Delete reclaim policy, the data on its volume too)";
    case "ConfigMap":
    case "Secret":
      return " (its data as it is now)";
    default:
      return "";
  }
}

function driftSteps(report: ReleaseReport, diagnoseAt: (revision: number) => string): NextStep[] {
  const drift = report.drift;
  if (!drift || (report.driftSummary?.drifted ?? 0) === 0) return [];
  const base = drift.baseRevision;
  return [
    {
      safety: "read",
      text: "Keep a change made by hand: put it in the chart or its values before the next upgrade, which otherwise sets it back (client-side) or conflicts with it (server-side); to undo the changes, check re-applying the deployed revision first",
      commands: [diagnoseAt(base)],
    },
    {
      safety: "overwrite",
      text: `Undo the changes: re-apply revision ${String(base)}; this overwrites the live values listed under Drift with the declared ones`,
      commands: [`helm rollback ${report.release} ${String(base)} -n ${report.namespace}`],
    },
  ];
}

function hookSteps(report: ReleaseReport): NextStep[] {
  const hooks = report.hooks;
  if (!hooks) return [];
  const steps: NextStep[] = [];
  const failedJobs = [
    ...hooks.running.filter((hook) => hook.state === "failed"),
    ...hooks.orphaned.filter((hook) => hook.reason !== "succeeded_not_deleted"),
  ].filter((hook) => hook.kind === "Job");
  for (const hook of failedJobs) {
    const ns = `-n ${hook.namespace ?? report.namespace}`;
    steps.push({
      safety: "read",
      text: `Read why hook ${objectName(hook)} failed, before anything deletes it`,
      commands: [
        `kubectl ${ns} describe job ${hook.name}`,
        `kubectl ${ns} logs job/${hook.name} --all-containers`,
      ],
    });
  }
  for (const hook of hooks.orphaned)
    steps.push({
      safety: "delete",
      text: `Delete hook ${objectName(hook)}, left behind by revision ${String(hook.revision)}: this deletes that ${hook.kind}${hook.kind === "Job" ? " and its Pods (their logs go with them)" : ""}`,
      commands: [
        `kubectl -n ${hook.namespace ?? report.namespace} delete ${hook.kind.toLowerCase()} ${hook.name}`,
      ],
    });
  for (const leftover of hooks.leftovers.filter((candidate) => candidate.reason === "leftover"))
    steps.push({
      safety: "delete",
      text: `Delete ${objectName(leftover)}, which no revision of the release declares any more, once nothing uses it: this deletes it${deletionCost(leftover.kind)}`,
      commands: [
        `kubectl -n ${leftover.namespace ?? report.namespace} delete ${leftover.kind.toLowerCase()} ${leftover.name}`,
      ],
    });
  for (const stuck of hooks.terminating)
    steps.push(
      {
        safety: "read",
        text: `See why ${objectName(stuck)} is not deleted: the controllers of ${stuck.finalizers.join(", ")} have not finished`,
        commands: [
          `kubectl -n ${stuck.namespace ?? report.namespace} get ${stuck.kind.toLowerCase()} ${stuck.name} -o yaml`,
        ],
      },
      {
        safety: "delete",
        text: `Only if those controllers are gone for good: remove the finalizers, which completes the deletion of ${objectName(stuck)} without the clean-up they stand for`,
        commands: [
          `kubectl -n ${stuck.namespace ?? report.namespace} patch ${stuck.kind.toLowerCase()} ${stuck.name} --type=merge -p '{"metadata":{"finalizers":null}}'`,
        ],
      },
    );
  return dedupe(steps);
}

function dedupe(steps: readonly NextStep[]): NextStep[] {
  const seen = new Set<string>();
  return steps.filter((step) => {
    const key = `${step.text}|${step.commands.join("|")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// -------------------------------------------------------------------------------------------
// JSON

export function firstLine(text: string): string {
  const [first = ""] = text.split("\n");
  return first.length > 100 ? `${first.slice(0, 99)}…` : first;
}

export function plural(count: number, noun: string): string {
  return `${String(count)} ${noun}${count === 1 ? "" : "s"}`;
}

export function runningHooksOfLatest(report: ReleaseReport): readonly RunningHook[] {
  return (report.hooks?.running ?? []).filter((hook) => hook.revision === report.revision);
}
