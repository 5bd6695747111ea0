/**
 * The human-readable `scan` output: one line per release, problems spelled out below. Every
 * text that comes from a release record or the cluster is printed escaped (printable): a
 * record is anyone's input, and must not move the cursor, recolour or add lines on a terminal.
 */
import { printable } from "../util/text.ts";
import type { FieldDrift, ResourceDrift } from "../analysis/drift/drift.ts";
import { ROLLBACK_BLOCKER_REASONS, type RollbackReadiness } from "../analysis/rollback/types.ts";
import { noTargetByDesign } from "../report/attention.ts";
import type { ReleaseReport, Snapshot } from "../report/snapshot.ts";
import { renderValueChange, type DiffOptions } from "./diff.ts";

export function renderTable(
  snapshot: Snapshot,
  options: { diff?: boolean; diffOptions?: DiffOptions } = {},
): string {
  const header = [
    "NAMESPACE",
    "RELEASE",
    "REVISION",
    "STATUS",
    "DEPLOYED",
    "FAILED",
    "DRIFT",
    "ROLLBACK",
    "CHART",
    "APP VERSION",
  ];
  const rows = snapshot.releases.map((report) => [
    report.namespace,
    report.release,
    String(report.revision),
    report.unreadable
      ? `${report.status} (unreadable)`
      : report.stale
        ? `${report.status} (stale)`
        : report.status,
    report.deployedRevision === undefined ? "-" : String(report.deployedRevision),
    String(report.failedRevisions),
    driftCell(report),
    report.readiness ? rollbackCell(report.readiness.rollback, report.revisions) : "-",
    report.chart ? `${report.chart.name}-${report.chart.version}` : "?",
    report.chart ? report.chart.appVersion || "-" : "?",
  ]);
  const lines =
    rows.length > 0
      ? alignColumns([header, ...rows.map((row) => row.map(printable))])
      : [
          snapshot.outcome === "failed"
            ? "Release storage could not be read: which releases exist is unknown (see the errors below)."
            : "No Helm releases found.",
        ];
  const problems = snapshot.releases.flatMap((report) =>
    report.attention.map((reason) => printable(`${report.namespace}/${report.release}: ${reason}`)),
  );
  const collectorErrors = snapshot.collectors.flatMap((collector) =>
    collector.errors.map((error) => printable(`${collector.name}: ${error}`)),
  );
  const sections = [lines.join("\n")];
  if (problems.length > 0) sections.push(`Needs attention:\n${indent(problems)}`);
  const strays = snapshot.strays.map(printable);
  if (strays.length > 0) sections.push(`Left behind by releases that are gone:\n${indent(strays)}`);
  if (options.diff) {
    // Each line is escaped where it is made: the diff renderer's colours must survive.
    const diffs = snapshot.releases.flatMap((report) => renderDiff(report, options.diffOptions));
    if (diffs.length > 0) sections.push(diffs.join("\n\n"));
  }
  if (collectorErrors.length > 0)
    sections.push(`Scan errors (results may be incomplete):\n${indent(collectorErrors)}`);
  return `${sections.join("\n\n")}\n`;
}

function driftCell(report: ReleaseReport): string {
  if (report.driftError) return "unknown";
  const summary = report.driftSummary;
  if (!summary) return "-";
  const parts = [];
  if (summary.modified > 0) parts.push(`${String(summary.modified)} modified`);
  if (summary.added > 0) parts.push(`${String(summary.added)} added by hand`);
  if (summary.missing > 0) parts.push(`${String(summary.missing)} missing`);
  const unchecked = Object.values(summary.unchecked).reduce((sum, count) => sum + count, 0);
  if (unchecked > 0) parts.push(`${String(unchecked)} unchecked`);
  return parts.length > 0 ? parts.join(", ") : "in sync";
}

/**
 * What a bare `helm rollback` would do now: ready, blocked with its reasons (Helm's errors are
 * under "Needs attention"), or unknown when nothing was found to block it but something could
 * not be checked: that is not "blocked".
 */
function rollbackCell(rollback: RollbackReadiness, storedRevisions: number): string {
  if (rollback.ready) return "ready";
  if (rollback.blockers.every((blocker) => noTargetByDesign(blocker, storedRevisions)))
    return "no earlier revision";
  const reasons = ROLLBACK_BLOCKER_REASONS.filter((reason) =>
    rollback.blockers.some((blocker) => blocker.reason === reason),
  );
  const known = reasons.filter((reason) => reason !== "unchecked");
  if (known.length === 0) return reasons.length > 0 ? `unknown (${reasons.join(", ")})` : "unknown";
  return `blocked (${reasons.join(", ")})`;
}

/** `scan --diff`: per drifted object, declared (-) against live (+), like helm diff. */
function renderDiff(report: ReleaseReport, diffOptions: DiffOptions = {}): string[] {
  if (!report.drift) return [];
  const base = `revision ${String(report.drift.baseRevision)}${report.drift.baseIsDeployed ? "" : " (latest; none deployed)"}`;
  return report.drift.resources
    .filter((resource) => resource.state !== "unchecked")
    .map((resource) =>
      [
        printable(`${report.namespace}/${report.release} ${base}: ${resourceHeading(resource)}`),
        ...resource.fields.flatMap((field) => fieldLines(field, diffOptions)),
      ].join("\n"),
    );
}

/** An object's drift in a line: what it is, and who changed it when. */
export function resourceHeading(resource: ResourceDrift): string {
  const { kind, namespace, name } = resource.resource;
  const object = `${kind} ${namespace ? `${namespace}/` : ""}${name}`;
  if (resource.state === "missing") return `${object} is missing`;
  const managers = resource.managers
    .map(
      (m) =>
        `${m.manager}${m.subresource ? ` (${m.subresource})` : ""}${m.time ? ` at ${m.time.toISOString()}` : ""}`,
    )
    .join(", ");
  return `${object} modified by ${managers}`;
}

/** A drifted field: its path and who owns it now, then declared (-) against live (+). */
export function fieldLines(field: FieldDrift, diffOptions: DiffOptions): string[] {
  const by = field.managers.length > 0 ? `  (${field.managers.join(", ")})` : "";
  return [
    printable(`  ${field.path}${field.change === "changed" ? "" : ` ${field.change}`}${by}`),
    ...renderValueChange(field, diffOptions).map((line) => `    ${line}`),
  ];
}

function indent(lines: readonly string[]): string {
  return lines.map((line) => `  ${line}`).join("\n");
}

export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("   ")
      .trimEnd(),
  );
}
