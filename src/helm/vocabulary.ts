/**
 * Helm's words in the cluster, said once: the labels and annotations Helm writes on release
 * objects and hooks, and how its storage drivers mark release records.
 */

/** On every object Helm applies (since 3.2), with the value `Helm`. Hooks get none of these. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_HELM = "Helm";
export const HELM_MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_HELM}`;
/** The release an object belongs to, as Helm stamps it at apply time (not in the manifest). */
export const RELEASE_NAME_ANNOTATION = "meta.helm.sh/release-name";
export const RELEASE_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace";

/** Marks a hook object; its value lists the events (`pre-upgrade,post-rollback`). */
export const HOOK_ANNOTATION = "helm.sh/hook";
/** `keep`: Helm leaves the object behind on uninstall and when a revision drops it. */
export const RESOURCE_POLICY_ANNOTATION = "helm.sh/resource-policy";
export const RESOURCE_POLICY_KEEP = "keep";

/** Whether an annotation is Helm's own (all the hook and leftover analyses read of an object). */
export function isHelmAnnotation(key: string): boolean {
  return key.startsWith("helm.sh/") || key.startsWith("meta.helm.sh/");
}

/** Release records: Secrets of this type, or ConfigMaps, labelled owner=helm. */
export const RELEASE_SECRET_TYPE = "helm.sh/release.v1";
export const RELEASE_OWNER_SELECTOR = "owner=helm";
/** The labels Helm's storage drivers set on a record; any other is a user's release label. */
export const STORAGE_LABELS: ReadonlySet<string> = new Set([
  "name",
  "owner",
  "status",
  "version",
  "createdAt",
  "modifiedAt",
]);
