/**
 * The variables every dashboard has, in this order, each filtered by the ones before it:
 * datasource, cluster, job, instance, namespace, release.
 */
import { CLUSTER_LABEL, DATASOURCE, EXPORTER, type Json, type JsonObject } from "./dashboard.ts";

function datasourceVariable(): JsonObject {
  return {
    name: "datasource",
    label: "Data source",
    type: "datasource",
    query: "prometheus",
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: "",
    skipUrlSync: false,
  };
}

interface QueryVariable {
  name: string;
  label: string;
  query: string;
  description: string;
  /** Many values and "All", or exactly one value. */
  multi: boolean;
  /** What "All" matches: `.+` by default; `.*` also matches series without the label. */
  allValue?: string;
  hide?: 0 | 2;
}

function queryVariable(v: QueryVariable): JsonObject {
  return {
    name: v.name,
    label: v.label,
    description: v.description,
    type: "query",
    datasource: { ...DATASOURCE },
    definition: v.query,
    query: { qryType: 1, query: v.query, refId: "PrometheusVariableQueryEditor-VariableQuery" },
    current: {},
    hide: v.hide ?? 0,
    includeAll: v.multi,
    multi: v.multi,
    ...(v.multi ? { allValue: v.allValue ?? ".+" } : {}),
    options: [],
    refresh: 2,
    regex: "",
    skipUrlSync: false,
    sort: 1,
  };
}

/**
 * datasource, cluster, job, instance, namespace and release. Releases come from `helm_release_status`,
 * not `helm_release_info`: the status series exist for every release, also one whose latest
 * record cannot be read (the one you most want to look at), while `helm_release_info` is absent
 * then.
 */
export function variables(options: { multiRelease: boolean; hideRelease?: boolean }): Json[] {
  const hide = options.hideRelease ? 2 : 0;
  return [
    datasourceVariable(),
    queryVariable({
      name: "cluster",
      label: "Cluster",
      query: `label_values(helm_drift_exporter_build_info, ${CLUSTER_LABEL})`,
      description: `Cluster(s), by the ${CLUSTER_LABEL} label a central Prometheus adds. Empty with one Prometheus per cluster; All then matches everything.`,
      multi: true,
      allValue: ".*",
    }),
    queryVariable({
      name: "job",
      label: "Job",
      query: `label_values(helm_drift_exporter_build_info{${CLUSTER_LABEL}=~"$cluster"}, job)`,
      description: "Prometheus job(s) scraping helm-drift-exporter.",
      multi: true,
    }),
    queryVariable({
      name: "instance",
      label: "Instance",
      query: `label_values(helm_drift_exporter_build_info{${CLUSTER_LABEL}=~"$cluster", job=~"$job"}, instance)`,
      description:
        "Exporter target(s) of the selected jobs: pod addresses, which change on every restart. Leave it on All; pick one only to look at a single replica.",
      multi: true,
    }),
    queryVariable({
      name: "namespace",
      label: "Namespace",
      query: `label_values(helm_release_status{${EXPORTER}}, namespace)`,
      description: "Namespace(s) of the Helm releases.",
      multi: options.multiRelease,
      hide,
    }),
    queryVariable({
      name: "release",
      label: "Release",
      query: `label_values(helm_release_status{${EXPORTER}, namespace=~"$namespace"}, release)`,
      description: "Helm release(s) in the selected namespaces.",
      multi: options.multiRelease,
      hide,
    }),
  ];
}
