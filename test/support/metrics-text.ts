/**
 * Readers for the two texts that describe metrics: docs/metrics.md's tables, which tests
 * hold the code, alerts and dashboards to, and Prometheus exposition, which tests and the
 * bench read back from /metrics.
 */

export interface DocumentedMetric {
  readonly type: string;
  readonly labels: readonly string[];
}

/** Metric name -> type and label names, from table rows "| `name` | type | `label`, ... | ... |". */
export function documentedMetrics(markdown: string): Map<string, DocumentedMetric> {
  const metrics = new Map<string, DocumentedMetric>();
  for (const line of markdown.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    const name = /^`([a-zA-Z_:][a-zA-Z0-9_:]*)`$/.exec(cells[1] ?? "")?.[1];
    if (!name) continue;
    const labels = [...(cells[3] ?? "").matchAll(/`([a-zA-Z_][a-zA-Z0-9_]*)`/g)].map(
      (match) => match[1] ?? "",
    );
    metrics.set(name, { type: cells[2] ?? "", labels });
  }
  return metrics;
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of Prometheus text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const row of text.split("\n")) {
    if (row.startsWith("#")) continue;
    const match = line.exec(row);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key = "", value = ""] of (match[2] ?? "").matchAll(label)) labels[key] = value;
    samples.push({ name: match[1] ?? "", labels, value: Number(match[3]) });
  }
  return samples;
}
