/** Counts derived from a drift report, shared by metrics, JSON and the table. */
import { UNCHECKED_REASONS, type DriftReport, type UncheckedReason } from "../analysis/drift/drift.ts";

export interface DriftSummary {
  /** A declared field differs. */
  readonly modified: number;
  /** Nothing declared differs, but a person added undeclared fields. */
  readonly added: number;
  readonly missing: number;
  /** modified + added + missing: each drifted resource once. */
  readonly drifted: number;
  readonly driftedFields: number;
  readonly unchecked: Readonly<Record<UncheckedReason, number>>;
  /** Earliest start of any current drift; undefined when in sync. */
  readonly since?: Date;
  /** Drifted resources per manager (a resource changed by two managers counts for both). */
  readonly managers: ReadonlyMap<string, number>;
  readonly inSync: boolean;
}

export function summarizeDrift(report: DriftReport): DriftSummary {
  const unchecked = Object.fromEntries(UNCHECKED_REASONS.map((reason) => [reason, 0])) as Record<
    UncheckedReason,
    number
  >;
  const managers = new Map<string, number>();
  const drifted = { modified: 0, added: 0, missing: 0 };
  let driftedFields = 0;
  let since: number | undefined;
  for (const resource of report.resources) {
    if (resource.state === "unchecked") {
      unchecked[resource.uncheckedReason ?? "error"]++;
      continue;
    }
    drifted[resource.state]++;
    driftedFields += resource.fields.length;
    for (const manager of new Set(resource.managers.map((entry) => entry.manager))) {
      managers.set(manager, (managers.get(manager) ?? 0) + 1);
    }
    const start = resource.since?.getTime();
    if (start !== undefined && (since === undefined || start < since)) since = start;
  }
  const total = drifted.modified + drifted.added + drifted.missing;
  return {
    ...drifted,
    drifted: total,
    driftedFields,
    unchecked,
    ...(since !== undefined && { since: new Date(since) }),
    managers,
    inSync: total === 0 && Object.values(unchecked).every((count) => count === 0),
  };
}
