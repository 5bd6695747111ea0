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
import type { RollbackBlocker, RollbackReadiness } from "../analysis/rollback/types.ts";
import type { HistoryEntry } from "../analysis/status.ts";
import { isPending } from "../helm/release.ts";
import { diagnosis, firstLine, plural, runningHooksOfLatest, type NextStep } from "../report/diagnosis.ts";
import type { ReleaseReport, Snapshot } from "../report/snapshot.ts";
import { objectName } from "../model/refs.ts";
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
          `  ${objectName(field.object)} ${field.path}${field.managers.length > 0 ? ` (by ${field.managers.join(", ")})` : ""}`,
        ),
      );
  }
  if (rollback.takenOver.length > 0) {
    lines.push("", "it would take over these objects, which exist but are not this release's now:");
    for (const taken of rollback.takenOver)
      lines.push(printable(`  ${objectName(taken.object)} (now ${taken.owner}'s)`));
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
  const on = blocker.object ? ` ${objectName(blocker.object)}` : "";
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
