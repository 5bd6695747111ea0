/**
 * Which releases the configuration takes in by name: `--releases` and `--exclude-releases`
 * (globs), and `--namespace-selector` (applied to namespaces when a scan starts, see
 * read/release-scope.ts).
 */
import { globMatches } from "../util/glob.ts";

export interface ReleaseFilter {
  /** Globs of `<name>` or `<namespace>/<name>`; empty: every release. */
  readonly releases: readonly string[];
  readonly excludeReleases: readonly string[];
  /** A Kubernetes label selector namespaces must match; absent: every namespace. */
  readonly namespaceSelector?: string;
}

export const NO_RELEASE_FILTER: ReleaseFilter = { releases: [], excludeReleases: [] };

/** Whether any release could be out of scope by this filter. */
export function filters(filter: ReleaseFilter): boolean {
  return (
    filter.releases.length > 0 || filter.excludeReleases.length > 0 || filter.namespaceSelector !== undefined
  );
}

/** A glob with a `/` is matched against `<namespace>/<name>`, one without against `<name>`. */
function releaseMatches(glob: string, namespace: string, release: string): boolean {
  return globMatches(glob, glob.includes("/") ? `${namespace}/${release}` : release);
}

/** Whether the release globs take in a release (exclusion wins). */
export function releaseGlobsInclude(filter: ReleaseFilter, namespace: string, release: string): boolean {
  if (filter.excludeReleases.some((glob) => releaseMatches(glob, namespace, release))) return false;
  return (
    filter.releases.length === 0 || filter.releases.some((glob) => releaseMatches(glob, namespace, release))
  );
}
