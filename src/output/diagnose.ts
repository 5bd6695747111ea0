/**
 * `diagnose <release>`: one release's report, for the person paged at 3 AM, answer first. In
 * the order issue 19 sets: verdict, status and lock, history, drift, hooks, stuck deletions,
 * rollback readiness, next steps. Only formats the report (and decides which of Helm's and
 * kubectl's commands fit it): nothing here reads the cluster or analyses anything anew.
 *
 * Next steps are commands to copy, safest first: reading before writing, writing a new
 * revision before overwriting someone's changes, deleting last, and each that deletes or
 * overwrites says what. Every text from a release record or the cluster is printed escaped
 * (printable), as in the table.
 */
import type { HookJob, HookPod, OrphanedHook, RunningHook } from "../analysis/hooks.ts";
import type { BlockedObject, RollbackBlocker, RollbackReadiness } from "../analysis/rollback/types.ts";
import type { HistoryEntry } from "../analysis/status.ts";
import { isPending } from "../helm/release.ts";
import type { ReleaseReport, Snapshot } from "../report/snapshot.ts";
import { printable, printableLines } from "../util/text.ts";
import type { DiffOptions } from "./diff.ts";
import { scanBlockJson, SCHEMA_VERSION, toReleaseJson } from "./json.ts";
import { alignColumns, fieldLines, resourceHeading } from "./table.ts";

export interface DiagnoseOptions {
  /** ANSI colours: the verdict, and declared (-) against live (+) in diffs. */
  readonly colour?: boolean;
}

/**
 * How far a step goes: `read` changes nothing; `release` writes a new revision (a rollback),
 * setting back what it lists; `overwrite` takes fields from someone else; `delete` deletes.
 */
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
// Text

export function renderDiagnosis(
  snapshot: Snapshot,
  report: ReleaseReport,
  options: DiagnoseOptions = {},
): string {
  const now = snapshot.finishedAt;
  const found = diagnosis(report);
  const colour = (code: string, text: string) => (options.colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const verdict = found.healthy
    ? colour("32", `HEALTHY: ${printable(found.headline)}`)
    : colour("1;31", `NEEDS ATTENTION: ${printable(found.headline)}`);
  const sections = [
    [printable(`${report.namespace}/${report.release}, diagnosed at ${now.toISOString()}`), verdict].join(
      "\n",
    ),
    section("Status and lock", statusLines(report, now)),
    section("History", historyLines(report)),
    section("Drift", driftLines(report, { colour: options.colour === true })),
    section("Hooks", hookLines(report, now)),
    section("Stuck deletions", stuckLines(report, now)),
    section("Rollback readiness", readinessLines(report)),
    section("Next steps", stepLines(found.steps)),
  ];
  const errors = snapshot.collectors.flatMap((collector) =>
    collector.errors.map((error) => printable(`${collector.name}: ${error}`)),
  );
  if (errors.length > 0) sections.push(section("Could not check (what follows from it is unknown)", errors));
  return `${sections.join("\n\n")}\n`;
}

/** `diagnose <release>` when the release is not there: the releases that are. */
export function renderNoSuchRelease(release: string, namespace: string, others: readonly string[]): string {
  const listed =
    others.length > 0
      ? `Releases in namespace ${namespace}: ${others.join(", ")}`
      : `Namespace ${namespace} has no Helm releases (or the exporter may not read its release storage).`;
  return `${printable(`No release ${release} in namespace ${namespace}.`)}\n${printable(listed)}\n`;
}

function section(title: string, lines: readonly string[]): string {
  return [title, ...lines.map((line) => (line === "" ? "" : `  ${line}`))].join("\n");
}

function statusLines(report: ReleaseReport, now: Date): string[] {
  const lines: string[] = [];
  const chart = report.chart
    ? `chart ${report.chart.name}-${report.chart.version}, app version ${report.chart.appVersion || "-"}, `
    : "";
  const applied = report.applyMethod ? `, applied ${applyWords(report.applyMethod)}` : "";
  lines.push(
    printable(
      `revision ${String(report.revision)} ${report.status} (${chart}stored in ${report.storage}s${applied})`,
    ),
  );
  if (report.unreadable)
    lines.push(
      printable(
        `its record cannot be read (${report.unreadable.reason}): ${report.unreadable.message}; helm cannot read it either`,
      ),
    );
  if (report.stale) lines.push(printable(`not seen by this scan: ${report.stale.reason}`));
  if (isPending(report.status)) {
    const since = report.lastDeployed;
    const age = since
      ? ` for ${duration(now.getTime() - since.getTime())} (since ${since.toISOString()})`
      : "";
    lines.push(
      `${report.status}${age}: helm's lock is held, every helm upgrade fails with "another operation (install/upgrade/rollback) is in progress"; helm rollback ignores the lock`,
    );
    lines.push(...lockLines(report));
  } else if (report.status === "failed" && report.description) {
    lines.push("why it failed (helm's words):", ...indented(printableLines(report.description).split("\n")));
  } else if (report.lastDeployed) {
    lines.push(`last deployed ${report.lastDeployed.toISOString()}`);
  }
  if (report.deployedRevision !== undefined && report.deployedRevision !== report.revision)
    lines.push(`deployed revision: ${String(report.deployedRevision)}`);
  else if (report.deployedRevision === undefined) lines.push("no revision is deployed");
  return lines;
}

/** Whether the pending operation is still at work (wait) or was left by a helm that stopped watching (act). */
function lockLines(report: ReleaseReport): string[] {
  const running = runningHooksOfLatest(report);
  if (running.length === 0)
    return [
      `no hook of revision ${String(report.revision)} is recorded as running: unless a helm process is still at work on it, it was interrupted (killed, timed out, lost its connection); act`,
    ];
  return running.map((hook) =>
    printable(`hook ${objectName(hook)} (${hook.events.join(", ")}): ${runningWords(hook)}`),
  );
}

function runningHooksOfLatest(report: ReleaseReport): readonly RunningHook[] {
  return (report.hooks?.running ?? []).filter((hook) => hook.revision === report.revision);
}

function runningWords(hook: RunningHook): string {
  switch (hook.state) {
    case "active":
      return "still active: helm (or the hook) may still be at work; wait, do not act";
    case "complete":
      return "complete, but its record still says running: helm stopped watching before it finished; act";
    case "failed":
      return "failed, and its record still says running: helm stopped watching before it failed; act";
    case "missing":
      return "recorded as running, and gone from the cluster: helm stopped watching it; act";
    case "not_a_job":
      return "recorded as running; it is not a Job, so whether it finished cannot be read";
  }
}

function historyLines(report: ReleaseReport): string[] {
  const header = ["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "APPLY", "DESCRIPTION"];
  const rows = report.history.map((entry) => {
    const detail = entry.detail && "chart" in entry.detail ? entry.detail : undefined;
    return [
      String(entry.revision),
      entry.updated?.toISOString() ?? "-",
      entry.status,
      detail ? `${detail.chart.name}-${detail.chart.version}` : "?",
      detail ? detail.chart.appVersion || "-" : "?",
      detail ? detail.applyMethod : "?",
      entry.detail
        ? "unreadable" in entry.detail
          ? `(record unreadable: ${entry.detail.unreadable})`
          : firstLine(entry.detail.description)
        : "?",
    ].map(printable);
  });
  const lines = alignColumns([header, ...rows]);
  for (const entry of report.history.filter(failedWithWords))
    lines.push(
      "",
      `revision ${String(entry.revision)} failed:`,
      ...indented(printableLines(descriptionOf(entry)).split("\n")),
    );
  return lines;
}

function failedWithWords(entry: HistoryEntry): boolean {
  return entry.status === "failed" && descriptionOf(entry) !== "";
}

function descriptionOf(entry: HistoryEntry): string {
  return entry.detail && "description" in entry.detail ? entry.detail.description : "";
}

function driftLines(report: ReleaseReport, diffOptions: DiffOptions): string[] {
  if (report.driftError) return [printable(`not checked: ${report.driftError}`)];
  const { drift, driftSummary: summary } = report;
  if (!drift || !summary)
    return ["not checked (the release is uninstalled, or no revision could be compared)"];
  const base = `revision ${String(drift.baseRevision)}${drift.baseIsDeployed ? "" : " (the latest: none is deployed)"}`;
  const lines = [
    summary.drifted === 0
      ? `${plural(drift.managedResources, "object")} of ${base} checked: in sync`
      : `${String(summary.drifted)} of ${String(drift.managedResources)} objects of ${base} drifted (declared -, live +):`,
  ];
  for (const resource of drift.resources.filter((candidate) => candidate.state !== "unchecked")) {
    lines.push("", printable(resourceHeading(resource)));
    lines.push(...resource.fields.flatMap((field) => fieldLines(field, diffOptions)));
  }
  const unchecked = drift.resources.filter((resource) => resource.state === "unchecked");
  if (unchecked.length > 0) {
    lines.push("", "could not check (unknown, not in sync):");
    for (const resource of unchecked) {
      const { kind, namespace, name } = resource.resource;
      lines.push(
        printable(
          `  ${kind} ${namespace ? `${namespace}/` : ""}${name}: ${resource.uncheckedReason ?? "error"}${resource.message ? `: ${resource.message}` : ""}`,
        ),
      );
    }
  }
  return lines;
}

function hookLines(report: ReleaseReport, now: Date): string[] {
  const hooks = report.hooks;
  if (!hooks) return ["not checked"];
  const lines: string[] = [];
  for (const hook of hooks.running) {
    const since = hook.startedAt ? `, started ${duration(now.getTime() - hook.startedAt.getTime())} ago` : "";
    lines.push(
      printable(
        `running: ${objectName(hook)} (${hook.events.join(", ")} of revision ${String(hook.revision)}${since}): ${runningWords(hook)}`,
      ),
    );
    if (hook.state !== "missing")
      lines.push(printable(`  delete policy ${hook.deletePolicies.join(",")}: ${policyMeaning(hook)}`));
    if (hook.job) lines.push(...jobLines(hook.job));
  }
  for (const hook of hooks.orphaned) {
    lines.push(
      printable(`left behind: ${objectName(hook)} (revision ${String(hook.revision)}, ${orphanWords(hook)})`),
      printable(`  delete policy ${hook.deletePolicies.join(",")}: ${policyMeaning(hook)}`),
    );
    if (hook.job) lines.push(...jobLines(hook.job));
  }
  for (const leftover of hooks.leftovers)
    lines.push(
      printable(
        leftover.reason === "kept"
          ? `kept: ${objectName(leftover)} is no longer in the release; kept on purpose (helm.sh/resource-policy: keep)`
          : `leftover: ${objectName(leftover)} is no longer in the release, but still exists`,
      ),
    );
  return lines.length > 0 ? lines : ["none running, failed or left behind"];
}

function orphanWords(hook: OrphanedHook): string {
  switch (hook.reason) {
    case "succeeded_not_deleted":
      return "succeeded, not deleted";
    case "failed_not_deleted":
      return "failed, not deleted";
    case "failed":
      return "failed";
  }
}

/**
 * What the hook's delete policies (as Helm applies them: none given is before-hook-creation) mean
 * for it and for the next operation that runs it, as helm's pkg/action/hooks.go acts on them:
 * before-hook-creation deletes the object (and waits until it is gone) before creating it again;
 * hook-succeeded deletes it once the hooks of its event succeeded; hook-failed when it failed.
 */
function policyMeaning(hook: OrphanedHook | RunningHook): string {
  const policies = hook.deletePolicies;
  const when = [
    policies.includes("hook-succeeded")
      ? "helm deletes it once the hooks of its event succeed"
      : "a run that succeeds leaves it",
    policies.includes("hook-failed")
      ? "helm deletes it when it fails"
      : "a run that fails leaves it for inspection until deleted",
  ];
  const next = policies.includes("before-hook-creation")
    ? "the next operation that runs this hook deletes it and waits until it is gone before creating it again: it does not block that operation"
    : `nothing deletes it before the hook runs again: while it exists, the next operation that runs this hook fails on it with client-side apply (${hook.kind.toLowerCase()}s "${hook.name}" already exists); server-side apply applies over it unless someone else changed it`;
  return `${when.join("; ")}; ${next}`;
}

/** A hook Job's conditions, then its Pods newest first with how their containers ended. */
function jobLines(job: HookJob): string[] {
  const lines = job.conditions.map((condition) => {
    const reason = condition.reason ? ` (${condition.reason})` : "";
    const since = condition.lastTransitionTime ? ` since ${condition.lastTransitionTime.toISOString()}` : "";
    const message = condition.message ? `: ${condition.message}` : "";
    return printable(`  condition ${condition.type}=${condition.status}${reason}${since}${message}`);
  });
  if (job.conditions.length === 0)
    lines.push("  no conditions yet (the job controller has not reported it ended)");
  const pods = job.pods;
  if ("unreadable" in pods) return [...lines, printable(`  its pods could not be read: ${pods.unreadable}`)];
  if (pods.total === 0) return [...lines, "  no pods (none created yet, or already deleted)"];
  const shown = pods.pods.length < pods.total ? `, the newest ${String(pods.pods.length)} shown` : "";
  lines.push(`  ${plural(pods.total, "pod")}${shown}:`);
  for (const pod of pods.pods) lines.push(printable(`    ${podLine(pod)}`));
  return lines;
}

function podLine(pod: HookPod): string {
  const ended = pod.terminations.map((end) => {
    const how = `${end.reason ?? "ended"}, exit code ${String(end.exitCode)}`;
    return `container ${end.container} ${end.restarted ? `last ended ${how}, then restarted` : `terminated ${how}`}`;
  });
  return `pod ${pod.name} ${pod.phase}${ended.length > 0 ? `: ${ended.join("; ")}` : ""}`;
}

function stuckLines(report: ReleaseReport, now: Date): string[] {
  const stuck = report.hooks?.terminating ?? [];
  if (!report.hooks) return ["not checked"];
  if (stuck.length === 0) return ["none"];
  return stuck.map((object) =>
    printable(
      `${objectName(object)}: deleting for ${duration(now.getTime() - object.deletionTimestamp.getTime())} (since ${object.deletionTimestamp.toISOString()}), held by finalizers ${object.finalizers.join(", ")}`,
    ),
  );
}

function readinessLines(report: ReleaseReport): string[] {
  const readiness = report.readiness;
  if (!readiness) return ["not checked"];
  const { rollback, upgrade } = readiness;
  const lines = [printable(rollbackLine(report, rollback))];
  rollback.blockers.forEach((blocker, index) => {
    lines.push(...blockerLines(blocker, index + 1));
  });
  if (rollback.reverted.length > 0) {
    lines.push("", "it would set back these changes made by hand (lost):");
    for (const field of rollback.reverted)
      lines.push(
        printable(
          `  ${blockedName(field.object)} ${field.path}${field.managers.length > 0 ? ` (by ${field.managers.join(", ")})` : ""}`,
        ),
      );
  }
  if (rollback.takenOver.length > 0) {
    lines.push("", "it would take over these objects, which exist but are not this release's now:");
    for (const taken of rollback.takenOver)
      lines.push(printable(`  ${blockedName(taken.object)} (now ${taken.owner}'s)`));
  }
  lines.push("");
  if (!upgrade.blocked) lines.push("helm upgrade: nothing refuses it before it starts");
  else
    for (const blocker of upgrade.blockers)
      lines.push(
        printable(`helm upgrade would fail (${blocker.reason}):`),
        ...indented(printableLines(`Error: UPGRADE FAILED: ${blocker.message}`).split("\n")),
      );
  if (readiness.unservedApiRevisions.length > 0)
    lines.push(
      `revisions using an API the cluster no longer serves (rolling back to them fails): ${readiness.unservedApiRevisions.join(", ")}`,
    );
  return lines;
}

function rollbackLine(report: ReleaseReport, rollback: RollbackReadiness): string {
  const target =
    rollback.targetRevision === undefined
      ? "no target revision"
      : `revision ${String(rollback.targetRevision)}${rollback.targetStatus ? ` (${rollback.targetStatus})` : ""}`;
  const how = rollback.applyMethod ? `, applied ${applyWords(rollback.applyMethod)}` : "";
  const rollingBack = `helm rollback ${report.release} to ${target}${how}`;
  if (rollback.ready) return `${rollingBack}: would succeed`;
  const known = rollback.blockers.some((blocker) => blocker.reason !== "unchecked");
  return `${rollingBack}: ${known ? "WOULD FAIL" : "could not be fully checked (unknown, not ready)"}`;
}

function blockerLines(blocker: RollbackBlocker, number: number): string[] {
  const on = blocker.object ? ` ${blockedName(blocker.object)}` : "";
  const lines = [
    "",
    printable(`${String(number)}) ${blocker.reason}${on}`),
    ...indented(
      printableLines(blocker.reason === "unchecked" ? blocker.message : `Error: ${blocker.message}`).split(
        "\n",
      ),
    ),
  ];
  if (blocker.note) lines.push(printable(`   ${blocker.note}`));
  if (blocker.leaves) lines.push(`   a failed rollback leaves: ${leavesWords(blocker.leaves)}`);
  return lines;
}

function leavesWords(leaves: NonNullable<RollbackBlocker["leaves"]>): string {
  switch (leaves) {
    case "nothing":
      return "nothing (helm stops before it writes)";
    case "pending-rollback":
      return "a pending-rollback revision: every later upgrade is refused until a rollback succeeds";
    case "failed":
      return "a failed revision, and none deployed";
  }
}

function stepLines(steps: readonly NextStep[]): string[] {
  if (steps.length === 0) return ["nothing to do"];
  return steps.flatMap((step, index) => [
    printable(`${String(index + 1)}. ${step.text}`),
    ...step.commands.map((command) => printable(`     ${command}`)),
  ]);
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
  const upgradeBlocked = report.readiness?.upgrade.blockers[0];
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
  // A first install has nothing to roll back to: not news (attention.ts says so too).
  return !rollback.blockers.every((blocker) => blocker.reason === "no_target" && report.revisions <= 1);
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
            text: `Delete the hook object an earlier run left behind, so the rollback's hook can be created again: this deletes ${blockedName(object)}${object.kind === "Job" ? " and its Pods (their logs go with them)" : ""}`,
            commands: [
              `kubectl -n ${object.namespace ?? report.namespace} delete ${object.kind.toLowerCase()} ${object.name}`,
            ],
          });
        break;
      case "immutable_field":
        if (object)
          steps.push({
            safety: "delete",
            text: `The apiserver will not change this field in place; deleting the object lets the rollback create it anew: this deletes ${blockedName(object)}${deletionCost(object.kind)}`,
            commands: [
              `kubectl -n ${object.namespace ?? report.namespace} delete ${object.kind.toLowerCase()} ${object.name}`,
            ],
          });
        break;
      case "ssa_conflict":
      case "ownership":
        if (object && !conflicting.some((seen) => blockedName(seen) === blockedName(object)))
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
      text: `Roll back with --force-conflicts (helm v4): helm takes the conflicting fields of ${conflicting.map(blockedName).join(", ")} from their other managers and overwrites their values with revision ${String(target)}'s`,
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

/** `diagnose -o json`: the release as the scan JSON shows it, its history in full, the verdict and steps. */
export function toDiagnosisJson(snapshot: Snapshot, report: ReleaseReport) {
  const found = diagnosis(report);
  const release = toReleaseJson(report);
  return {
    schemaVersion: SCHEMA_VERSION,
    scan: scanBlockJson(snapshot),
    verdict: { healthy: found.healthy, headline: found.headline },
    release: {
      ...release,
      hooks: hooksJson(report, release.hooks),
      history: report.history.map((entry) => {
        const detail = entry.detail && "chart" in entry.detail ? entry.detail : undefined;
        return {
          revision: entry.revision,
          status: entry.status,
          updated: entry.updated?.toISOString() ?? null,
          chart: detail ? { name: detail.chart.name, version: detail.chart.version } : null,
          appVersion: detail ? detail.chart.appVersion : null,
          applyMethod: detail ? detail.applyMethod : null,
          description: detail ? detail.description : null,
          unreadable: entry.detail && "unreadable" in entry.detail ? entry.detail.unreadable : null,
        };
      }),
    },
    nextSteps: found.steps,
  };
}

type ReleaseHooksJson = ReturnType<typeof toReleaseJson>["hooks"];

/** The scan's hooks JSON, each running or left-behind hook with what its policy means next, and its Job as read. */
function hooksJson(report: ReleaseReport, base: ReleaseHooksJson) {
  const hooks = report.hooks;
  if (!hooks || !base) return null;
  // Index for index: the scan's JSON lists them in the report's order.
  const extras = (hook: RunningHook | OrphanedHook | undefined) => ({
    deletePolicies: hook?.deletePolicies ?? [],
    nextOperation: hook ? policyMeaning(hook) : null,
    job: hook?.job ? jobJson(hook.job) : null,
  });
  return {
    ...base,
    running: base.running.map((entry, index) => ({ ...entry, ...extras(hooks.running[index]) })),
    orphaned: base.orphaned.map((entry, index) => ({ ...entry, ...extras(hooks.orphaned[index]) })),
  };
}

function jobJson(job: HookJob) {
  return {
    conditions: job.conditions.map((condition) => ({
      type: condition.type,
      status: condition.status,
      reason: condition.reason ?? null,
      message: condition.message ?? null,
      lastTransitionTime: condition.lastTransitionTime?.toISOString() ?? null,
    })),
    pods:
      "unreadable" in job.pods
        ? { unreadable: job.pods.unreadable }
        : {
            total: job.pods.total,
            newest: job.pods.pods.map((pod) => ({
              name: pod.name,
              phase: pod.phase,
              created: pod.createdAt?.toISOString() ?? null,
              terminations: pod.terminations.map((end) => ({
                container: end.container,
                reason: end.reason ?? null,
                exitCode: end.exitCode,
                restarted: end.restarted,
                finishedAt: end.finishedAt?.toISOString() ?? null,
              })),
            })),
          },
  };
}

// -------------------------------------------------------------------------------------------
// Words

function applyWords(method: "ssa" | "csa"): string {
  return method === "ssa" ? "server-side (ssa)" : "client-side (csa)";
}

function objectName(object: { kind: string; namespace?: string; name: string }): string {
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ""}${object.name}`;
}

function blockedName(object: BlockedObject): string {
  return objectName(object);
}

function firstLine(text: string): string {
  const [first = ""] = text.split("\n");
  return first.length > 100 ? `${first.slice(0, 99)}…` : first;
}

function plural(count: number, noun: string): string {
  return `${String(count)} ${noun}${count === 1 ? "" : "s"}`;
}

function indented(lines: readonly string[]): string[] {
  return lines.map((line) => `   ${line}`);
}

/** 45s, 12m, 3h 5m, 2d 4h: how long, to the precision a person needs. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${String(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${String(minutes)}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${String(hours)}h ${String(minutes % 60)}m`;
  return `${String(Math.floor(hours / 24))}d ${String(hours % 24)}h`;
}
