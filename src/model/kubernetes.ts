/** Kubernetes' own words the exporter relies on, said once. */

/** The kind whose values are never shown, whatever shape a manifest gives its fields. */
export const SECRET_KIND = "Secret";
/** kubectl apply's copy of the whole object it applied: for a Secret, its data. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
