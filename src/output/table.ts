/** The human-readable `scan` output: one line per release, problems spelled out below. */
import { needsAttention } from "../analysis/status.ts";
import type { Snapshot } from "../scan/snapshot.ts";

export function renderTable(snapshot: Snapshot): string {
  const header = ["NAMESPACE", "RELEASE", "REVISION", "STATUS", "DEPLOYED", "FAILED", "CHART", "APP VERSION"];
  const rows = snapshot.releases.map((report) => [
    report.namespace,
    report.release,
    String(report.revision),
    report.unreadable ? `${report.status} (unreadable)` : report.status,
    report.deployedRevision === undefined ? "-" : String(report.deployedRevision),
    String(report.failedRevisions),
    report.chart ? `${report.chart.name}-${report.chart.version}` : "?",
    report.chart ? report.chart.appVersion || "-" : "?",
  ]);
  const lines = rows.length > 0 ? alignColumns([header, ...rows]) : ["No Helm releases found."];
  const problems = snapshot.releases.filter(needsAttention).map((report) => {
    const name = `${report.namespace}/${report.release}`;
    if (report.unreadable)
      return `${name}: revision ${String(report.unreadable.revision)} unreadable (${report.unreadable.reason}): ${report.unreadable.message}`;
    const failures =
      report.failedRevisions > 1 ? ` (${String(report.failedRevisions)} failed revisions in a row)` : "";
    return `${name}: latest revision ${String(report.revision)} is ${report.status}${failures}${report.description ? `: ${report.description}` : ""}`;
  });
  const collectorErrors = snapshot.collectors.flatMap((collector) =>
    collector.errors.map((error) => `${collector.name}: ${error}`),
  );
  const sections = [lines.join("\n")];
  if (problems.length > 0)
    sections.push(`Needs attention:\n${problems.map((line) => `  ${line}`).join("\n")}`);
  if (collectorErrors.length > 0)
    sections.push(
      `Scan errors (results may be incomplete):\n${collectorErrors.map((line) => `  ${line}`).join("\n")}`,
    );
  return `${sections.join("\n\n")}\n`;
}

function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("   ")
      .trimEnd(),
  );
}
