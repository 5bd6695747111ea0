/**
 * Reports recorded from real scenarios on the control plane (test/integration/diagnose.test.ts
 * with RECORD_FIXTURES=1), for the golden tests of `diagnose`'s rendering
 * (src/output/diagnose.test.ts). Dates and Maps survive the round trip as tagged values.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ReleaseReport, Snapshot } from "../../src/report/snapshot.ts";

export const DIAGNOSE_FIXTURES = path.resolve(import.meta.dirname, "../fixtures/diagnose");

export interface DiagnoseFixture {
  readonly snapshot: Snapshot;
  readonly report: ReleaseReport;
}

export function writeDiagnoseFixture(name: string, fixture: DiagnoseFixture): void {
  mkdirSync(DIAGNOSE_FIXTURES, { recursive: true });
  const text = JSON.stringify(
    fixture,
    function tag(this: Record<string, unknown>, key: string, value: unknown) {
      const original = this[key];
      if (original instanceof Date) return { $date: original.toISOString() };
      if (original instanceof Map) return { $map: [...(original as Map<unknown, unknown>).entries()] };
      return value;
    },
    2,
  );
  writeFileSync(path.join(DIAGNOSE_FIXTURES, `${name}.json`), `${text}\n`);
}

export function readDiagnoseFixture(name: string): DiagnoseFixture {
  const text = readFileSync(path.join(DIAGNOSE_FIXTURES, `${name}.json`), "utf8");
  return JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === "object" && "$date" in value) return new Date(String(value.$date));
    if (value && typeof value === "object" && "$map" in value)
      return new Map(value.$map as [unknown, unknown][]);
    return value;
  }) as DiagnoseFixture;
}
