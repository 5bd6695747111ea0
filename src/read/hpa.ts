/**
 * Workloads an HPA scales: their spec.replicas is meant to change. Read from the live
 * HPAs (any HPA counts, Helm-managed or not) plus those declared in release manifests,
 * so a forbidden or unserved HPA API still honours the declared ones.
 */
import { groupOf, hpaTargetKey } from "../analysis/drift/drift.ts";
import { isObject } from "../analysis/drift/merge-keys.ts";
import type { ManifestObject } from "../helm/release.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { collectionPaths, type NamespaceScope } from "./namespaces.ts";

export async function readHpaTargets(
  client: KubeClient,
  scope: NamespaceScope,
  declared: readonly { object: ManifestObject; namespace: string }[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const targets = new Set<string>();
  const add = (namespace: string, spec: unknown) => {
    const target = isObject(spec) ? spec.scaleTargetRef : undefined;
    if (!isObject(target) || typeof target.kind !== "string" || typeof target.name !== "string") return;
    const apiVersion = typeof target.apiVersion === "string" ? target.apiVersion : "apps/v1";
    targets.add(hpaTargetKey(groupOf(apiVersion), target.kind, namespace, target.name));
  };
  for (const { object, namespace } of declared) {
    if (object.kind === "HorizontalPodAutoscaler") add(namespace, object.body.spec);
  }
  try {
    for (const path of collectionPaths(scope, "autoscaling", "v2", "horizontalpodautoscalers")) {
      const { items } = await client.list<KubeObject & { spec?: unknown }>(path, "horizontalpodautoscalers", {
        resourceVersion: "0",
        ...(signal && { signal }),
      });
      for (const hpa of items) add(hpa.metadata.namespace ?? "", hpa.spec);
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    // Not readable: the declared HPAs above still count.
  }
  return targets;
}
