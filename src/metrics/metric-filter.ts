/**
 * `--metric-allowlist` / `--metric-denylist`, as kube-state-metrics has them: regexes over metric
 * names, one list or the other. They apply to what the exporter reports about releases (the
 * helm_release_* and helm_orphaned_* metrics), never to its own health metrics
 * (helm_drift_exporter_*, process_*, nodejs_*): kube-state-metrics serves its own on another port,
 * out of the lists' reach, and the exporter's alerts need them whatever the lists say.
 *
 * Unlike kube-state-metrics, whose patterns match anywhere in a name (`kube_pod_status` there also
 * drops `kube_pod_status_ready`), a pattern here must match the whole name, as Prometheus'
 * relabelling regexes do: `helm_release_drift.*` for a prefix.
 */
import type { MetricFilterSpec } from "../config/config.ts";
import { wholeMatch } from "../util/text.ts";
import { NAMESPACE_METRICS, RELEASE_METRICS } from "./catalog.ts";

/** The metrics the lists apply to. */
export const FILTERABLE_METRICS: readonly string[] = [
  ...Object.values(RELEASE_METRICS),
  ...Object.values(NAMESPACE_METRICS),
].map((metric) => metric.name);

/**
 * The filterable metrics the lists leave out. Decided once per exposition over the catalogue's
 * few dozen names, never per series or per scrape.
 */
export function excludedMetrics(spec: MetricFilterSpec): ReadonlySet<string> {
  const compile = (patterns: readonly string[]) =>
    patterns.map(wholeMatch).filter((pattern): pattern is RegExp => pattern instanceof RegExp);
  const allow = compile(spec.allow);
  const deny = compile(spec.deny);
  const matches = (patterns: readonly RegExp[], name: string) =>
    patterns.some((pattern) => pattern.test(name));
  return new Set(
    FILTERABLE_METRICS.filter((name) => (allow.length > 0 ? !matches(allow, name) : matches(deny, name))),
  );
}

/** Patterns that match no metric the lists apply to: a typo, or a health metric the lists never touch. */
export function unmatchedPatterns(spec: MetricFilterSpec): string[] {
  return [...spec.allow, ...spec.deny].filter((pattern) => {
    const regex = wholeMatch(pattern);
    return regex instanceof RegExp && !FILTERABLE_METRICS.some((name) => regex.test(name));
  });
}
