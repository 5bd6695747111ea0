/**
 * Finds hook objects in the cluster. Hooks carry no Helm label, so each kind hooks use
 * is watched without a selector and filtered on the `helm.sh/hook` annotation:
 * metadata-only (no data, no Secret values), except Jobs, whose status tells a running
 * hook from a finished one. Only the objects that carry Helm's annotations are kept.
 */
import type {
  ClusterObject,
  ContainerTermination,
  HookPod,
  JobCondition,
  JobPods,
  JobState,
} from "../analysis/hooks.ts";
import { HOOK_ANNOTATION, isHelmAnnotation, RELEASE_NAME_ANNOTATION } from "../helm/vocabulary.ts";
import { kindKey } from "../model/refs.ts";
import { isObject } from "../util/object.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { mapLimit } from "../util/pool.ts";
import type { Collections } from "./collections.ts";
import type { Discovery } from "./discovery.ts";
import { collectionPaths, inScope, type NamespaceScope } from "./namespaces.ts";
import { errorMessage } from "../util/errors.ts";
import { ownCopy, truncate } from "../util/text.ts";

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
    ...(item.metadata.uid && { uid: item.metadata.uid }),
    annotations: helmAnnotations(item.metadata.annotations ?? {}),
    ...(deletion && { deletionTimestamp: deletion }),
    finalizers: item.metadata.finalizers ?? [],
    ...(jobState && { jobState, jobConditions: jobConditionsOf(item) }),
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
  const conditions = jobConditionsOf(job);
  const isTrue = (type: string) => conditions.some((c) => c.type === type && c.status === "True");
  if (isTrue("Complete")) return "complete";
  if (isTrue("Failed")) return "failed";
  return "active";
}

/** A Job's conditions are few (the job controller writes one per type); more would be someone else's doing. */
const MAX_CONDITIONS = 8;
/** Condition messages and termination reasons are anyone's text: kept this long at most. */
const MAX_MESSAGE = 300;

function jobConditionsOf(job: KubeObject): JobCondition[] {
  const status = isObject(job.status) ? job.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  return conditions.slice(0, MAX_CONDITIONS).flatMap((condition: unknown) => {
    if (!isObject(condition) || typeof condition.type !== "string" || typeof condition.status !== "string")
      return [];
    const reason = boundedText(condition.reason);
    const message = boundedText(condition.message);
    const since = dateOf(condition.lastTransitionTime);
    return [
      {
        type: boundedText(condition.type) ?? "",
        status: boundedText(condition.status) ?? "",
        ...(reason && { reason }),
        ...(message && { message }),
        ...(since && { lastTransitionTime: since }),
      },
    ];
  });
}

// -------------------------------------------------------------------------------------------
// The Pods of hook Jobs, for `diagnose`

/** Of each hook Job, the newest Pods shown; the rest are counted. */
export const JOB_PODS_SHOWN = 5;
/**
 * The label the apiserver puts on every Job's Pod template (validation requires it, alongside
 * batch.kubernetes.io/job-name since 1.27): helm selects a hook Job's Pods by it too.
 */
const JOB_NAME_LABEL = "job-name";

export interface JobToRead {
  readonly name: string;
  /** The Job as it exists now: Pods another Job of that name owned (before helm re-created it) are not its. */
  readonly uid?: string;
}

/**
 * The Pods of some Jobs of one namespace: one LIST (paged) selected by their `job-name` label,
 * keeping of each Pod only its name, phase and how its containers ended, never its spec (env
 * values) or logs. Newest first, at most JOB_PODS_SHOWN per Job. `diagnose` only: a regular
 * scan never reads Pods in full.
 */
export async function readJobPods(
  client: KubeClient,
  namespace: string,
  jobs: readonly JobToRead[],
  signal?: AbortSignal,
): Promise<Map<string, JobPods>> {
  const byName = new Map(jobs.map((job) => [job.name, job]));
  const found = new Map<string, HookPod[]>(jobs.map((job) => [job.name, []]));
  if (jobs.length === 0) return new Map();
  await client.listPages(
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    "pods",
    {
      labelSelector: `${JOB_NAME_LABEL} in (${[...byName.keys()].join(",")})`,
      pageSize: 100,
      ...(signal && { signal }),
    },
    (page) => {
      for (const item of page) {
        const job = byName.get(item.metadata.labels?.[JOB_NAME_LABEL] ?? "");
        if (!job || !ownedBy(item, job)) continue;
        found.get(job.name)?.push(hookPodOf(item));
      }
    },
  );
  return new Map(
    [...found].map(([name, pods]) => {
      const newest = pods.sort(newestFirst).slice(0, JOB_PODS_SHOWN);
      return [name, { pods: newest, total: pods.length }];
    }),
  );
}

/** Owned by that Job, or by no Job (left when its Job was deleted orphaning it): not by an earlier Job of that name. */
function ownedBy(pod: KubeObject, job: JobToRead): boolean {
  const owners = (pod.metadata as { ownerReferences?: unknown }).ownerReferences;
  if (!Array.isArray(owners) || job.uid === undefined) return true;
  const jobOwners = owners.filter((owner: unknown) => isObject(owner) && owner.kind === "Job");
  return jobOwners.length === 0 || jobOwners.some((owner) => isObject(owner) && owner.uid === job.uid);
}

function newestFirst(a: HookPod, b: HookPod): number {
  const age = (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0);
  return age !== 0 ? age : a.name.localeCompare(b.name);
}

function hookPodOf(pod: KubeObject): HookPod {
  const status = isObject(pod.status) ? pod.status : {};
  const createdAt = dateOf(pod.metadata.creationTimestamp);
  const statuses = [status.initContainerStatuses, status.containerStatuses].flatMap((list): unknown[] =>
    Array.isArray(list) ? (list as unknown[]) : [],
  );
  return {
    name: pod.metadata.name,
    phase: boundedText(status.phase) ?? "Unknown",
    ...(createdAt && { createdAt }),
    terminations: statuses.slice(0, MAX_CONDITIONS).flatMap((container: unknown) => {
      const ended = isObject(container) ? terminationOf(container) : undefined;
      return ended ? [ended] : [];
    }),
  };
}

/** How a container ended: as it stands now if terminated, else as it last ended before a restart. */
function terminationOf(container: Record<string, unknown>): ContainerTermination | undefined {
  const now = terminatedOf(container.state);
  const last = now ? undefined : terminatedOf(container.lastState);
  const ended = now ?? last;
  if (!ended || typeof ended.exitCode !== "number") return undefined;
  const reason = boundedText(ended.reason);
  const finishedAt = dateOf(ended.finishedAt);
  return {
    container: boundedText(container.name) ?? "",
    ...(reason && { reason }),
    exitCode: ended.exitCode,
    restarted: last !== undefined,
    ...(finishedAt && { finishedAt }),
  };
}

function terminatedOf(state: unknown): Record<string, unknown> | undefined {
  return isObject(state) && isObject(state.terminated) ? state.terminated : undefined;
}

function boundedText(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? ownCopy(truncate(value, MAX_MESSAGE)) : undefined;
}

function dateOf(value: unknown): Date | undefined {
  if (typeof value !== "string") return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
