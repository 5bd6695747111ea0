/**
 * Fields a built-in controller rewrites whatever the manifest says: what the manifest
 * declares there is a placeholder, so a different live value is never drift.
 */
import { isObject } from "../../util/object.ts";

export function controllerOwnsField(
  kind: string,
  declared: Readonly<Record<string, unknown>>,
  field: string,
): boolean {
  // The clusterrole-aggregation-controller replaces the rules of a ClusterRole that has an
  // aggregationRule with the union of the selected roles' rules (charts declare `rules: []`).
  return kind === "ClusterRole" && field === "rules" && isObject(declared.aggregationRule);
}
