/**
 * Which releases a scan covers beyond the namespaces it lists (namespaces.ts): release globs
 * (`--releases`, `--exclude-releases`) and a namespace label selector (`--namespace-selector`).
 * Release storage cannot be filtered by either on the server (a label selector matches exact
 * names, and a Secret's namespace has no labels of its own), so the metadata-only listing of
 * storage tells every release's name, and a release out of scope stops there: its records are
 * never fetched. The selector is applied by the apiserver to a watched namespace list, so a
 * namespace whose labels change is in or out of scope from the next scan on.
 */
import { errorMessage } from "../util/errors.ts";
import { KubeApiError } from "../kube/client.ts";
import { filters, releaseGlobsInclude, type ReleaseFilter } from "../model/release-filter.ts";
import type { Collections } from "./collections.ts";

/** One scan's scope of releases, decided at its start. */
export interface ReleaseScope {
  /** Whether a release, by its namespace and name, is in scope. */
  readonly includes: (namespace: string, release: string) => boolean;
  /**
   * Whether hook objects found in a namespace (undefined: cluster-scoped) can be judged
   * unreferenced: no release that may own them is out of scope. Hooks name no release, so in a
   * namespace where a release out of scope is stored, or out of the selector, they cannot be.
   */
  readonly judgesHooksIn: (namespace: string | undefined) => boolean;
}

export const WHOLE_SCOPE: ReleaseScope = { includes: () => true, judgesHooksIn: () => true };

/** Module level: a collection keeps its `keep` for as long as it watches. */
const keepName = (item: { metadata: { name: string } }): string => item.metadata.name;

/**
 * The namespaces the selector matches, from a metadata-only namespace list the apiserver filters,
 * kept current by its watch. Throws when it cannot be read (RBAC: list and watch on namespaces).
 */
export async function selectedNamespaces(
  collections: Collections,
  selector: string,
  signal?: AbortSignal,
): Promise<ReadonlySet<string>> {
  try {
    const listed = await collections.read(
      {
        purpose: "namespace-selector",
        path: "/api/v1/namespaces",
        resource: "namespaces",
        labelSelector: selector,
        metadataOnly: true,
        keep: keepName,
      },
      signal,
    );
    return new Set(listed.values());
  } catch (error) {
    if (signal?.aborted) throw error;
    const hint =
      error instanceof KubeApiError && error.isForbidden ? " (it needs list and watch on namespaces)" : "";
    throw new Error(`cannot list namespaces for --namespace-selector${hint}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/**
 * The scope of a scan: `listed` are the releases storage holds, as (namespace, release); those in
 * scope are what `includes` says, and the namespaces where some are not cannot have their hooks judged.
 */
export function releaseScope(
  filter: ReleaseFilter,
  selected: ReadonlySet<string> | undefined,
  listed: Iterable<{ readonly namespace: string; readonly release: string }>,
): ReleaseScope {
  if (!filters(filter)) return WHOLE_SCOPE;
  const includes = (namespace: string, release: string) =>
    (selected === undefined || selected.has(namespace)) && releaseGlobsInclude(filter, namespace, release);
  const mixed = new Set<string>();
  for (const { namespace, release } of listed) if (!includes(namespace, release)) mixed.add(namespace);
  return {
    includes,
    // Cluster-scoped hooks could be any release's, and an uninstalled release out of scope leaves no record.
    judgesHooksIn: (namespace) =>
      namespace !== undefined && (selected === undefined || selected.has(namespace)) && !mixed.has(namespace),
  };
}
