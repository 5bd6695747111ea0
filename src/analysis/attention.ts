/** Why a release needs a human, from its status and drift; empty when all is well. */
import type { ReleaseReport } from "../scan/snapshot.ts";
import { summarizeDrift } from "./drift/summary.ts";

export function attentionReasons(report: ReleaseReport): string[] {
  const reasons: string[] = [];
  if (report.unreadable) {
    reasons.push(
      `revision ${String(report.unreadable.revision)} unreadable (${report.unreadable.reason}): ${report.unreadable.message}`,
    );
  } else if (report.status === "failed" || report.status.startsWith("pending-")) {
    const failures =
      report.failedRevisions > 1 ? ` (${String(report.failedRevisions)} failed revisions in a row)` : "";
    reasons.push(
      `latest revision ${String(report.revision)} is ${report.status}${failures}${report.description ? `: ${report.description}` : ""}`,
    );
  }
  if (report.driftError) reasons.push(`drift not checked: ${report.driftError}`);
  if (report.drift) {
    const summary = summarizeDrift(report.drift);
    if (summary.modified + summary.missing > 0) {
      const managers = [...summary.managers.keys()].join(", ");
      reasons.push(
        `drifted: ${String(summary.modified)} modified, ${String(summary.missing)} missing (by ${managers})`,
      );
    }
    const unchecked = Object.entries(summary.unchecked).filter(([, count]) => count > 0);
    if (unchecked.length > 0) {
      reasons.push(
        `could not check ${unchecked.map(([reason, count]) => `${String(count)} ${reason}`).join(", ")} resources`,
      );
    }
  }
  return reasons;
}

export function needsAttention(report: ReleaseReport): boolean {
  return attentionReasons(report).length > 0;
}
