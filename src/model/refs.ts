/**
 * How objects and releases are named and keyed, said once. Every map of objects in the
 * exporter is keyed by one of these.
 */

/** An object the cluster serves, as a manifest declares it. */
export interface ResourceRef {
  readonly apiVersion: string;
  readonly kind: string;
  /** Undefined for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly name: string;
}

/** An object by kind and name, without its API version (hooks and leftovers are found by these). */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** `apps/v1/Deployment/shop/web`. */
export function refKey(ref: ResourceRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/** `apps/v1/Deployment`: a kind as an API version serves it. */
export function kindKey(kind: { readonly apiVersion: string; readonly kind: string }): string {
  return `${kind.apiVersion}/${kind.kind}`;
}

/** `Deployment/shop/web`. */
export function objectRefKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/** `shop/web`: an object within its collection (a list of one kind). */
export function namespacedName(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

/** `Deployment shop/web`, `ClusterRole view`: an object as a person reads it. */
export function objectName(object: {
  readonly kind: string;
  readonly namespace?: string | undefined;
  readonly name: string;
}): string {
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ""}${object.name}`;
}

/** `shop/checkout`: a release. */
export function releaseKey(release: { readonly namespace: string; readonly release: string }): string {
  return `${release.namespace}/${release.release}`;
}

/** The API group of an apiVersion: `apps` for `apps/v1`, "" for the core `v1`. */
export function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "";
}

/** `apps/Deployment/shop/web`: a workload an HPA may scale (HPAs name a group, not a version). */
export function scaleTargetKey(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`;
}

/**
 * The object a manifest declares, where it will live: an unset namespace of a namespaced kind
 * is the release's. For a kind not served (`namespaced` unknown) the namespace Helm would have
 * used is kept, for reporting.
 */
export function resourceRef(
  object: {
    readonly apiVersion: string;
    readonly kind: string;
    readonly name: string;
    readonly namespace?: string;
  },
  releaseNamespace: string,
  namespaced: boolean | undefined,
): ResourceRef {
  const base = { apiVersion: object.apiVersion, kind: object.kind, name: object.name };
  return namespaced === false ? base : { ...base, namespace: object.namespace ?? releaseNamespace };
}
