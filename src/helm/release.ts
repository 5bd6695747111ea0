/** Helm's release record, reduced to what the analysis needs. Values (`config`) are never kept. */

export const RELEASE_STATUSES = [
  "unknown",
  "deployed",
  "uninstalled",
  "superseded",
  "failed",
  "uninstalling",
  "pending-install",
  "pending-upgrade",
  "pending-rollback",
] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export function isReleaseStatus(value: unknown): value is ReleaseStatus {
  return typeof value === "string" && (RELEASE_STATUSES as readonly string[]).includes(value);
}

export function isPending(status: ReleaseStatus): boolean {
  return status.startsWith("pending-");
}

export type StorageDriver = "secret" | "configmap";

export interface ChartInfo {
  readonly name: string;
  readonly version: string;
  readonly appVersion: string;
}

export type HookPhase = "" | "Unknown" | "Running" | "Succeeded" | "Failed";

export interface Hook {
  readonly name: string;
  readonly kind: string;
  /** From the hook's manifest (its body is not kept: hooks may be Secrets). */
  readonly apiVersion?: string;
  /** Set when the hook's manifest names one; else the release namespace. */
  readonly namespace?: string;
  readonly path: string;
  readonly events: readonly string[];
  readonly deletePolicies: readonly string[];
  readonly weight: number;
  readonly lastRun: {
    readonly phase: HookPhase;
    readonly startedAt?: Date;
    readonly completedAt?: Date;
  };
}

/** A kind at an API version, as a manifest names it. */
export interface ApiKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** The API kinds a record's manifest and hooks use, each once. */
export function apiKindsOf(record: Pick<ReleaseRecord, "manifest" | "hooks">): ApiKind[] {
  const kinds = new Map<string, ApiKind>();
  for (const { apiVersion, kind } of record.manifest)
    kinds.set(`${apiVersion}/${kind}`, { apiVersion, kind });
  for (const { apiVersion, kind } of record.hooks)
    if (apiVersion) kinds.set(`${apiVersion}/${kind}`, { apiVersion, kind });
  return [...kinds.values()];
}

/** One object of a release manifest, as parsed from its YAML document. */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** As written in the manifest; undefined means "the release namespace" for namespaced kinds. */
  readonly namespace?: string;
  /** The template that rendered it (`# Source:` comment). */
  readonly source?: string;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface ReleaseRecord {
  readonly name: string;
  readonly namespace: string;
  readonly revision: number;
  readonly status: ReleaseStatus;
  readonly description: string;
  readonly firstDeployed?: Date;
  readonly lastDeployed?: Date;
  readonly deleted?: Date;
  readonly chart: ChartInfo;
  /** Helm 4: "ssa" or "csa"; absent in Helm 3 records, which always apply client-side. */
  readonly applyMethod: "ssa" | "csa";
  readonly manifest: readonly ManifestObject[];
  readonly hooks: readonly Hook[];
}
