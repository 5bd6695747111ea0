import { KubeApiError, type KubeClient, type KubeObject } from "../kube/client.ts";

/** Which namespaces a scan covers: an explicit list, or all but the excluded ones. */
export interface NamespaceScope {
  /** Empty: all namespaces (cluster-wide lists). */
  readonly include: readonly string[];
  readonly exclude: readonly string[];
}

export function inScope(scope: NamespaceScope, namespace: string): boolean {
  if (scope.exclude.includes(namespace)) return false;
  return scope.include.length === 0 || scope.include.includes(namespace);
}

/**
 * One namespace's object, read by name (a Role in that namespace may grant it, where listing
 * namespaces needs a ClusterRole); undefined when it does not exist. Other failures throw.
 */
export async function namespaceByName(
  client: KubeClient,
  namespace: string,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    return await client.get<KubeObject>(
      `/api/v1/namespaces/${encodeURIComponent(namespace)}`,
      "namespaces",
      signal,
    );
  } catch (error) {
    if (!signal?.aborted && error instanceof KubeApiError && error.isNotFound) return undefined;
    throw error;
  }
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` for the others. */
export function apiBase(group: string, version: string): string {
  return group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** Collection paths to list: one cluster-wide path, or one per included namespace of a namespaced resource. */
export function collectionPaths(
  scope: NamespaceScope,
  group: string,
  version: string,
  resource: string,
  namespaced = true,
): string[] {
  const base = apiBase(group, version);
  if (!namespaced || scope.include.length === 0) return [`${base}/${resource}`];
  return scope.include
    .filter((namespace) => !scope.exclude.includes(namespace))
    .map((namespace) => `${base}/namespaces/${encodeURIComponent(namespace)}/${resource}`);
}
