/**
 * Finds hook objects in the cluster. Hooks carry no Helm label, so each kind hooks use
 * is watched without a selector and filtered on the `helm.sh/hook` annotation:
 * metadata-only (no data, no Secret values), except Jobs, whose status tells a running
 * hook from a finished one. Only the objects that carry Helm's annotations are kept.
 */
import type { ClusterObject, JobState } from "../analysis/hooks.ts";
import { HOOK_ANNOTATION, isHelmAnnotation, RELEASE_NAME_ANNOTATION } from "../helm/vocabulary.ts";
import { kindKey } from "../model/refs.ts";
import { isObject } from "../util/object.ts";
import type { KubeObject } from "../kube/client.ts";
import { mapLimit } from "../util/pool.ts";
import type { Collections } from "./collections.ts";
import type { Discovery } from "./discovery.ts";
import { collectionPaths, inScope, type NamespaceScope } from "./namespaces.ts";
import { errorMessage } from "../util/errors.ts";

/** Kinds listed even when no stored release names them: hooks of uninstalled releases use these. */
export const DEFAULT_HOOK_KINDS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: "batch/v1", kind: "Job" },
  { apiVersion: "v1", kind: "Pod" },
  { apiVersion: "v1", kind: "ConfigMap" },
  { apiVersion: "v1", kind: "Secret" },
  { apiVersion: "v1", kind: "ServiceAccount" },
];

export interface HookObjectsResult {
  /** Objects carrying helm.sh/hook. */
  readonly objects: readonly ClusterObject[];
  /** Objects carrying Helm's release annotations, from the same lists (finds leftovers of releases that are gone). */
  readonly releaseObjects: readonly ClusterObject[];
  readonly errors: readonly string[];
}

interface Kept {
  readonly hook: boolean;
  readonly object: ClusterObject;
}

/** Module level: a collection keeps its `keep`, and a closure made in a scan would keep that scan. */
function keepHookObject(scope: NamespaceScope, apiVersion: string, kind: string) {
  return (item: KubeObject): Kept | undefined => {
    const annotations = item.metadata.annotations ?? {};
    // A cluster-scoped hook names no namespace: judged only when the scan covers them all.
    if (item.metadata.namespace ? !inScope(scope, item.metadata.namespace) : scope.include.length > 0)
      return undefined;
    if (annotations[HOOK_ANNOTATION] !== undefined)
      return {
        hook: true,
        object: { ...toClusterObject(item, apiVersion, kind), managers: managersOf(item) },
      };
    if (annotations[RELEASE_NAME_ANNOTATION] !== undefined)
      return { hook: false, object: toClusterObject(item, apiVersion, kind) };
    return undefined;
  };
}

export async function readHookObjects(
  collections: Collections,
  discovery: Discovery,
  scope: NamespaceScope,
  kinds: readonly { apiVersion: string; kind: string }[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<HookObjectsResult> {
  // Without discovery no kind resolves, and every kind would look "not served": nothing read is not nothing found.
  if (!discovery.loaded) throw new Error("cannot read hook objects: API discovery has not been read");
  const unique = new Map(kinds.map((kind) => [kindKey(kind), kind]));
  const objects: ClusterObject[] = [];
  const releaseObjects: ClusterObject[] = [];
  const errors: string[] = [];
  await mapLimit([...unique.values()], concurrency, async ({ apiVersion, kind }) => {
    const info = discovery.resolve(apiVersion, kind);
    if (!info) return; // not served: no such hook objects can exist
    const paths = collectionPaths(scope, info.group, info.version, info.resource, info.namespaced);
    try {
      const kept = await collections.readPaths(
        paths,
        {
          purpose: `hooks ${apiVersion}`,
          resource: info.resource,
          metadataOnly: kind !== "Job",
          keep: keepHookObject(scope, apiVersion, kind),
        },
        signal,
      );
      for (const { hook, object } of kept.values()) (hook ? objects : releaseObjects).push(object);
    } catch (error) {
      if (signal?.aborted) throw error;
      errors.push(`cannot list ${info.resource} for hooks: ${errorMessage(error)}`);
    }
  });
  return { objects, releaseObjects, errors };
}

/** Helm's own annotations: all the hook and leftover analyses read (others may hold whole configs). */
function helmAnnotations(annotations: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).filter(([key]) => isHelmAnnotation(key)));
}

export function toClusterObject(item: KubeObject, apiVersion: string, kind: string): ClusterObject {
  const deletion = item.metadata.deletionTimestamp ? new Date(item.metadata.deletionTimestamp) : undefined;
  const jobState = kind === "Job" ? jobStateOf(item) : undefined;
  return {
    apiVersion,
    kind,
    ...(item.metadata.namespace && { namespace: item.metadata.namespace }),
    name: item.metadata.name,
    annotations: helmAnnotations(item.metadata.annotations ?? {}),
    ...(deletion && { deletionTimestamp: deletion }),
    finalizers: item.metadata.finalizers ?? [],
    ...(jobState && { jobState }),
  };
}

/**
 * Who wrote the object (its status aside: no apply of Helm's sets it): whether someone changed
 * a hook object left behind decides whether a server-side rollback's hook conflicts with it.
 */
function managersOf(item: KubeObject): string[] {
  const entries = (item.metadata as { managedFields?: unknown }).managedFields;
  if (!Array.isArray(entries)) return [];
  const names = entries.flatMap((entry: unknown) =>
    isObject(entry) && typeof entry.manager === "string" && entry.subresource !== "status"
      ? [entry.manager]
      : [],
  );
  return [...new Set(names)];
}

function jobStateOf(job: KubeObject): JobState {
  const status = isObject(job.status) ? job.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const isTrue = (type: string) =>
    conditions.some((c: unknown) => isObject(c) && c.type === type && c.status === "True");
  if (isTrue("Complete")) return "complete";
  if (isTrue("Failed")) return "failed";
  return "active";
}
