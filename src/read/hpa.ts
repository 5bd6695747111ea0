/**
 * Workloads an HPA scales: their spec.replicas is meant to change. Read from the live
 * HPAs (any HPA counts, Helm-managed or not) plus those declared in release manifests,
 * so a forbidden or unserved HPA API still honours the declared ones.
 */
import { groupOf, scaleTargetKey } from "../model/refs.ts";
import { isObject } from "../util/object.ts";
import type { ManifestObject } from "../helm/release.ts";
import type { KubeObject } from "../kube/client.ts";
import type { Collections } from "./collections.ts";
import { collectionPaths, type NamespaceScope } from "./namespaces.ts";

export async function readHpaTargets(
  collections: Collections,
  scope: NamespaceScope,
  declared: readonly { object: ManifestObject; namespace: string }[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const targets = new Set<string>();
  for (const { object, namespace } of declared) {
    if (object.kind !== "HorizontalPodAutoscaler") continue;
    const target = targetKey(namespace, object.body.spec);
    if (target) targets.add(target);
  }
  try {
    const kept = await collections.readPaths(
      collectionPaths(scope, "autoscaling", "v2", "horizontalpodautoscalers"),
      {
        purpose: "hpa",
        resource: "horizontalpodautoscalers",
        keep: keepTarget,
      },
      signal,
    );
    for (const target of kept.values()) targets.add(target);
  } catch (error) {
    if (signal?.aborted) throw error;
    // Not readable: the declared HPAs above still count.
  }
  return targets;
}

/** Module level: a collection keeps its `keep`, and a closure made in a scan would keep that scan. */
const keepTarget = (hpa: KubeObject): string | undefined => targetKey(hpa.metadata.namespace ?? "", hpa.spec);

function targetKey(namespace: string, spec: unknown): string | undefined {
  const target = isObject(spec) ? spec.scaleTargetRef : undefined;
  if (!isObject(target) || typeof target.kind !== "string" || typeof target.name !== "string")
    return undefined;
  const apiVersion = typeof target.apiVersion === "string" ? target.apiVersion : "apps/v1";
  return scaleTargetKey(groupOf(apiVersion), target.kind, namespace, target.name);
}
