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
import { KubeApiError, type KubeClient, type KubeObject } from "../kube/client.ts";
import { matchesLabelSelector, parseLabelSelector } from "../model/label-selector.ts";
import { filters, releaseGlobsInclude, type ReleaseFilter } from "../model/release-filter.ts";
import type { Collections } from "./collections.ts";
import { namespaceByName, type NamespaceScope } from "./namespaces.ts";

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
 * kept current by its watch. An identity that may not list namespaces (the chart's namespaced
 * mode: Roles in the namespaces it is given) reads each of `include` by name, which a Role may
 * grant, and matches their labels here. Throws when neither can be read.
 */
export async function selectedNamespaces(
  collections: Collections,
  client: KubeClient,
  scope: NamespaceScope,
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
    const forbidden = error instanceof KubeApiError && error.isForbidden;
    if (forbidden && scope.include.length > 0)
      return matchedOneByOne(client, scope.include, selector, signal);
    const hint = forbidden
      ? " (it needs list and watch on namespaces, or --namespaces and get on each of them)"
      : "";
    throw new Error(`cannot list namespaces for --namespace-selector${hint}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

async function matchedOneByOne(
  client: KubeClient,
  namespaces: readonly string[],
  selector: string,
  signal?: AbortSignal,
): Promise<ReadonlySet<string>> {
  const requirements = parseLabelSelector(selector);
  if (typeof requirements === "string") throw new Error(`--namespace-selector: ${requirements}`);
  const matched = new Set<string>();
  for (const namespace of namespaces) {
    let object: KubeObject | undefined;
    try {
      object = await namespaceByName(client, namespace, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new Error(`cannot read namespace ${namespace} for --namespace-selector: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    // A namespace that does not exist holds no release.
    if (object && matchesLabelSelector(requirements, object.metadata.labels ?? {})) matched.add(namespace);
  }
  return matched;
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
