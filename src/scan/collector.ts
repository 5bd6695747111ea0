/** A collector: one concern of a scan, with its own success and duration (as in node_exporter). */
import type { ScanContext } from "./context.ts";
import type { LiveExaminer } from "./examiner.ts";
import type { Findings } from "./findings.ts";

export interface Collector {
  readonly name: string;
  /**
   * Adds this concern's findings to what earlier collectors found. Errors it reports (or
   * throws) mark it failed without stopping the scan; an abort ends the scan.
   */
  run(context: ScanContext, found: Findings, errors: string[]): Promise<Partial<Findings>>;
  /**
   * For a concern that must see live objects: what examines them during the drift collector's
   * read of them, made once the releases are known. Its run() then reads what it found.
   */
  examiner?(context: ScanContext, found: Findings): Promise<LiveExaminer>;
}
