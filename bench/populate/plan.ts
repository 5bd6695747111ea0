/**
 * What the populate step makes, decided by index alone: the same options always give the
 * same releases, namespaces, values per revision, and which releases are drifted or failed.
 */
import path from "node:path";

export const CHART_DIR = path.resolve(import.meta.dirname, "../../test/fixtures/charts/realworld");

export type Via = "helm-v3" | "helm-v4" | "fast";

/**
 * How a drifted release was changed, each the way a person with kubectl does it:
 * - set-image: `kubectl set image deployment/<r>-web web=...` (manager kubectl-set)
 * - scale: `kubectl scale statefulset <r>-db --replicas=3` (manager kubectl, subresource scale)
 * - edit: `kubectl edit configmap <r>-config`, greeting changed (manager kubectl-edit)
 * - delete: `kubectl delete service <r>-nodeport` (the object is missing)
 */
export type DriftKind = "set-image" | "scale" | "edit" | "delete";
export const DRIFT_KINDS: readonly DriftKind[] = ["set-image", "scale", "edit", "delete"];

export interface PlannedRelease {
  readonly index: number;
  readonly namespace: string;
  readonly name: string;
  readonly via: Via;
  /** Revisions stored; for a failed release the last one is the failed upgrade. */
  readonly revisions: number;
  readonly failed: boolean;
  /** Drift applied after the release is made, if any. */
  readonly drift: DriftKind | undefined;
}

export interface PlanOptions {
  readonly releases: number;
  readonly revisions: number;
  readonly namespaces: number;
  readonly realHelm: number;
  readonly driftShare: number;
  readonly failedShare: number;
  readonly namespacePrefix: string;
}

/**
 * `--set` values of one revision. Every release goes through the same sequence, so each
 * revision is rendered once. The failed upgrade keeps the previous values and changes the
 * StatefulSet's volumeClaimTemplates, which the apiserver refuses (immutable field): only
 * that object's patch fails, as in the common real-world case.
 */
export function revisionValues(revision: number, failedUpgrade: boolean): string {
  if (failedUpgrade) return `${revisionValues(revision - 1, false)},storage=2Gi`;
  return `image.tag=2.7.${String(revision)},replicas=${String(2 + ((revision - 1) % 3))},greeting=hello-${String(revision)}`;
}

/** The ConfigMap greeting of a revision (drift "edit" changes it). */
export function greetingOf(revision: number): string {
  return `hello-${String(revision)}`;
}

/** The revision whose manifest is deployed: the last, or the one before a failed upgrade. */
export function deployedRevision(release: Pick<PlannedRelease, "revisions" | "failed">): number {
  return release.failed ? release.revisions - 1 : release.revisions;
}

export function releaseName(index: number): string {
  return `bench-${String(index).padStart(5, "0")}`;
}

export function namespaceName(prefix: string, index: number, count: number): string {
  return `${prefix}${String(index).padStart(Math.max(3, String(count - 1).length), "0")}`;
}

/**
 * The releases, in index order. Real-helm releases are spread evenly over the indices,
 * alternating helm v3 and v4. The fast path copies real helm v3 releases, so the first
 * real release (v3) is never failed and, when fast releases fail, the second v3 one (the
 * third real release) is failed: their records are the templates. Asking for fewer real
 * releases than that raises the count (to 1, or 3 with failures).
 */
export function plan(options: PlanOptions): PlannedRelease[] {
  const n = options.releases;
  const failedCount = share(n, options.failedShare);
  if (failedCount > 0 && options.revisions < 2) {
    throw new Error("failed releases need at least 2 revisions (an install, then the failed upgrade)");
  }
  const realHelm = Math.min(n, Math.max(options.realHelm, failedCount > 0 ? 3 : 1));
  const real = new Map<number, Via>();
  for (let k = 0; k < realHelm; k++) {
    real.set(Math.floor((k * n) / realHelm), k % 2 === 0 ? "helm-v3" : "helm-v4");
  }
  const [okTemplate, , failedTemplate] = real.keys();
  const forced = failedCount > 0 && failedTemplate !== undefined ? [failedTemplate] : [];
  const failed = pick(n, failedCount, 0x85ebca6b, forced, okTemplate === undefined ? [] : [okTemplate]);
  const drifted = pick(n, share(n, options.driftShare), 0x9e3779b9, [], []);
  const releases: PlannedRelease[] = [];
  let driftCount = 0;
  for (let index = 0; index < n; index++) {
    const isDrifted = drifted.has(index);
    releases.push({
      index,
      namespace: namespaceName(options.namespacePrefix, index % options.namespaces, options.namespaces),
      name: releaseName(index),
      via: real.get(index) ?? "fast",
      revisions: options.revisions,
      failed: failed.has(index),
      drift: isDrifted ? DRIFT_KINDS[driftCount++ % DRIFT_KINDS.length] : undefined,
    });
  }
  return releases;
}

function share(n: number, fraction: number): number {
  return Math.min(n, Math.max(0, Math.round(n * fraction)));
}

/** `count` indices: `include`, then others spread pseudo-randomly but fixed by the salt. */
function pick(
  n: number,
  count: number,
  salt: number,
  include: readonly number[],
  exclude: readonly number[],
): Set<number> {
  const chosen = new Set(include.slice(0, count));
  const ranked = Array.from({ length: n }, (_, index) => ({ index, rank: mix(index ^ salt) }))
    .filter((entry) => !chosen.has(entry.index) && !exclude.includes(entry.index))
    .sort((a, b) => a.rank - b.rank || a.index - b.index);
  for (const entry of ranked.slice(0, count - chosen.size)) chosen.add(entry.index);
  return chosen;
}

/** A 32-bit integer hash (murmur3's finalizer). */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
