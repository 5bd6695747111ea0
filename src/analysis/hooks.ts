/**
 * Hooks and leftovers of releases, from decoded release records and what exists in the
 * cluster. Helm puts no ownership label on hooks and does not delete them on uninstall,
 * so they are found by their `helm.sh/hook` annotation. Pure: inputs are plain data.
 */
import type { Hook, ReleaseRecord } from "../helm/release.ts";
import {
  RELEASE_NAME_ANNOTATION,
  RELEASE_NAMESPACE_ANNOTATION,
  RESOURCE_POLICY_ANNOTATION,
  RESOURCE_POLICY_KEEP,
} from "../helm/vocabulary.ts";
import { objectRefKey, releaseKey, type ObjectRef } from "../model/refs.ts";

/** What exists in the cluster: enough metadata to judge, never the object's data. */
export interface ClusterObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: Date;
  readonly finalizers: readonly string[];
  /** Tells a re-created object from the one before it (a Job's Pods name their Job's). */
  readonly uid?: string;
  /** Jobs only: from status conditions. */
  readonly jobState?: JobState;
  /** Jobs only: their status conditions, as the job controller wrote them (messages bounded). */
  readonly jobConditions?: readonly JobCondition[];
  /** Hook objects: the field managers that wrote it (Helm's included), from its managedFields. */
  readonly managers?: readonly string[];
}

export type JobState = "active" | "complete" | "failed";

/** One of a Job's status conditions (Complete, Failed, SuccessCriteriaMet, FailureTarget, Suspended...). */
export interface JobCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  /** Anyone's text (the job controller's, or whoever wrote the status): bounded, printed escaped. */
  readonly message?: string;
  readonly lastTransitionTime?: Date;
}

/** How a container of a hook Pod last ended: its current state if terminated, else its last one. */
export interface ContainerTermination {
  readonly container: string;
  /** Error, OOMKilled, Completed, DeadlineExceeded, ...: the kubelet's word (or anyone's: printed escaped). */
  readonly reason?: string;
  readonly exitCode: number;
  /** The container has been restarted since (lastState), or this is how it stands now (state). */
  readonly restarted: boolean;
  readonly finishedAt?: Date;
}

/** A Pod a hook Job owns: its phase, and how each container that ended last ended. */
export interface HookPod {
  readonly name: string;
  /** Pending, Running, Succeeded, Failed, Unknown. */
  readonly phase: string;
  readonly createdAt?: Date;
  readonly terminations: readonly ContainerTermination[];
}

/** The Pods of one Job, newest first: a few of them, and how many there are. */
export interface JobPods {
  readonly pods: readonly HookPod[];
  /** All the Job's Pods, shown or not. */
  readonly total: number;
}

/** A hook Job as `diagnose` reads it: its conditions, and the Pods it owns (or why they could not be read). */
export interface HookJob {
  readonly conditions: readonly JobCondition[];
  readonly pods: JobPods | { readonly unreadable: string };
}
export type RunningHookState = JobState | "missing" | "not_a_job";
export const RUNNING_HOOK_STATES: readonly RunningHookState[] = [
  "active",
  "complete",
  "failed",
  "missing",
  "not_a_job",
];

export type OrphanReason = "succeeded_not_deleted" | "failed_not_deleted" | "failed";
export const ORPHAN_REASONS: readonly OrphanReason[] = [
  "succeeded_not_deleted",
  "failed_not_deleted",
  "failed",
];

export type LeftoverReason = "leftover" | "kept";
export const LEFTOVER_REASONS: readonly LeftoverReason[] = ["leftover", "kept"];

export interface OrphanedHook extends ObjectRef {
  readonly reason: OrphanReason;
  readonly revision: number;
  /** As Helm applies them: none given is before-hook-creation. */
  readonly deletePolicies: readonly string[];
  /** Jobs, in a focused scan (`diagnose`) only: conditions and Pods. */
  readonly job?: HookJob;
}

export interface RunningHook extends ObjectRef {
  readonly revision: number;
  readonly events: readonly string[];
  readonly startedAt?: Date;
  /** The hook's Job as it is now: still active (wait) or already finished (act). */
  readonly state: RunningHookState;
  /** As Helm applies them: none given is before-hook-creation. */
  readonly deletePolicies: readonly string[];
  /** Jobs, in a focused scan (`diagnose`) only: conditions and Pods. */
  readonly job?: HookJob;
}

export interface Leftover extends ObjectRef {
  readonly reason: LeftoverReason;
}

export interface Terminating extends ObjectRef {
  readonly deletionTimestamp: Date;
  readonly finalizers: readonly string[];
}

export interface HooksReport {
  readonly orphaned: readonly OrphanedHook[];
  readonly running: readonly RunningHook[];
  readonly leftovers: readonly Leftover[];
  readonly terminating: readonly Terminating[];
}

export interface ReleaseHooksInput {
  readonly namespace: string;
  readonly release: string;
  /** Decoded revisions available (latest, deployed), any order. */
  readonly records: readonly ReleaseRecord[];
  /** The manifest Helm believes is live (what drift compares). */
  readonly manifest: readonly ObjectRef[];
}

export interface HooksInput {
  readonly releases: readonly ReleaseHooksInput[];
  /** Objects carrying helm.sh/hook. */
  readonly hookObjects: readonly ClusterObject[];
  /** Objects carrying Helm's release annotations (what Helm applied). */
  readonly releaseObjects: readonly ClusterObject[];
  readonly now: Date;
  /** Deletion older than this with finalizers left counts as stuck. */
  readonly terminatingAfterMs: number;
}

export interface HooksResult {
  readonly byRelease: ReadonlyMap<string, HooksReport>;
  /** Hook objects no release's records reference (uninstalled or purged releases). */
  readonly unreferenced: readonly ClusterObject[];
}

const key = (kind: string, namespace: string | undefined, name: string) =>
  objectRefKey({ kind, ...(namespace !== undefined && { namespace }), name });
const releaseHooksKey = (namespace: string, release: string) => releaseKey({ namespace, release });

/** A leftover's reason: Helm was told to keep it, or nobody was. */
function leftoverReason(object: ClusterObject): LeftoverReason {
  return object.annotations[RESOURCE_POLICY_ANNOTATION] === RESOURCE_POLICY_KEEP ? "kept" : "leftover";
}

export function analyzeHooks(input: HooksInput): HooksResult {
  const hookObjects = new Map(
    input.hookObjects.map((object) => [key(object.kind, object.namespace, object.name), object]),
  );
  const referenced = new Set<string>();
  const byRelease = new Map<string, HooksReport>();
  const releaseNames = new Set(
    input.releases.map((release) => releaseHooksKey(release.namespace, release.release)),
  );
  // An object a live release declares is that release's, whatever its annotations say now (a
  // release-name changed by hand is that release's drift), never another release's leftover.
  const declared = new Set(
    input.releases.flatMap((release) =>
      release.manifest.map((object) => key(object.kind, object.namespace, object.name)),
    ),
  );
  // By the release their annotations name: each release looks at its own objects only.
  const objectsByRelease = new Map<string, ClusterObject[]>();
  for (const object of input.releaseObjects) {
    const owner = releaseHooksKey(
      object.annotations[RELEASE_NAMESPACE_ANNOTATION] ?? "",
      object.annotations[RELEASE_NAME_ANNOTATION] ?? "",
    );
    const owned = objectsByRelease.get(owner);
    if (owned) owned.push(object);
    else objectsByRelease.set(owner, [object]);
  }

  for (const release of input.releases) {
    const orphaned: OrphanedHook[] = [];
    const running: RunningHook[] = [];
    const terminating: Terminating[] = [];
    for (const { hook, revision } of latestRuns(release.records)) {
      const namespace = hook.namespace ?? release.namespace;
      const objectKey = key(hook.kind, namespace, hook.name);
      referenced.add(objectKey);
      const object = hookObjects.get(objectKey);
      const ref = { kind: hook.kind, namespace, name: hook.name };
      if (object) {
        const stuck = stuckTerminating(object, input);
        if (stuck) terminating.push(stuck);
      }
      const phase = hook.lastRun.phase;
      const policies = effectiveDeletePolicies(hook);
      if (phase === "Running") {
        const state: RunningHookState = !object
          ? "missing"
          : hook.kind === "Job"
            ? (object.jobState ?? "active")
            : "not_a_job";
        running.push({
          ...ref,
          revision,
          events: hook.events,
          ...(hook.lastRun.startedAt && { startedAt: hook.lastRun.startedAt }),
          state,
          deletePolicies: policies,
        });
        continue;
      }
      if (!object) continue;
      const reason: OrphanReason | undefined =
        phase === "Succeeded" && policies.includes("hook-succeeded")
          ? "succeeded_not_deleted"
          : phase === "Failed"
            ? policies.includes("hook-failed")
              ? "failed_not_deleted"
              : "failed"
            : undefined;
      if (reason) orphaned.push({ ...ref, reason, revision, deletePolicies: policies });
    }

    const leftovers: Leftover[] = [];
    for (const object of objectsByRelease.get(releaseHooksKey(release.namespace, release.release)) ?? []) {
      const objectKey = key(object.kind, object.namespace, object.name);
      const stuck = stuckTerminating(object, input);
      if (stuck) terminating.push(stuck);
      if (declared.has(objectKey) || hookObjects.has(objectKey)) continue;
      leftovers.push({
        kind: object.kind,
        ...(object.namespace && { namespace: object.namespace }),
        name: object.name,
        reason: leftoverReason(object),
      });
    }
    byRelease.set(releaseHooksKey(release.namespace, release.release), {
      orphaned,
      running,
      leftovers,
      terminating,
    });
  }

  // Objects Helm applied for a release that no longer exists: kept on purpose, or left behind.
  for (const object of input.releaseObjects) {
    const name = object.annotations[RELEASE_NAME_ANNOTATION];
    const namespace = object.annotations[RELEASE_NAMESPACE_ANNOTATION];
    if (!name || !namespace || releaseNames.has(releaseHooksKey(namespace, name))) continue;
    if (declared.has(key(object.kind, object.namespace, object.name))) continue;
    const report = byRelease.get(releaseHooksKey(namespace, name)) ?? {
      orphaned: [],
      running: [],
      leftovers: [],
      terminating: [],
    };
    byRelease.set(releaseHooksKey(namespace, name), {
      ...report,
      leftovers: [
        ...report.leftovers,
        {
          kind: object.kind,
          ...(object.namespace && { namespace: object.namespace }),
          name: object.name,
          reason: leftoverReason(object),
        },
      ],
    });
  }

  const unreferenced = input.hookObjects.filter(
    (object) => !referenced.has(key(object.kind, object.namespace, object.name)),
  );
  return { byRelease, unreferenced };
}

/** Helm's default when a hook names no delete policy (pkg/action/hooks.go): before-hook-creation. */
export function effectiveDeletePolicies(hook: {
  readonly deletePolicies: readonly string[];
}): readonly string[] {
  return hook.deletePolicies.length > 0 ? hook.deletePolicies : ["before-hook-creation"];
}

/** The hook Jobs of a release's findings that exist (running or left behind): whose Pods `diagnose` reads. */
export function hookJobsOf(report: HooksReport): ObjectRef[] {
  return [...report.running.filter((hook) => hook.state !== "missing"), ...report.orphaned]
    .filter((hook) => hook.kind === "Job")
    .map(({ kind, namespace, name }) => ({ kind, ...(namespace !== undefined && { namespace }), name }));
}

/** The release's hook findings with what was read of their Jobs (by objectRefKey), for `diagnose`. */
export function withHookJobs(report: HooksReport, jobs: ReadonlyMap<string, HookJob>): HooksReport {
  const attach = <T extends ObjectRef>(hook: T): T => {
    const job = hook.kind === "Job" ? jobs.get(objectRefKey(hook)) : undefined;
    return job ? { ...hook, job } : hook;
  };
  return { ...report, running: report.running.map(attach), orphaned: report.orphaned.map(attach) };
}

/** Each hook once, as of the newest revision that ran it (revisions that did not run it say ""). */
function latestRuns(records: readonly ReleaseRecord[]): { hook: Hook; revision: number }[] {
  const runs = new Map<string, { hook: Hook; revision: number }>();
  for (const record of [...records].sort((a, b) => b.revision - a.revision)) {
    for (const hook of record.hooks) {
      const id = key(hook.kind, hook.namespace ?? record.namespace, hook.name);
      const known = runs.get(id);
      if (!known || (known.hook.lastRun.phase === "" && hook.lastRun.phase !== ""))
        runs.set(id, { hook, revision: record.revision });
    }
  }
  return [...runs.values()];
}

function stuckTerminating(object: ClusterObject, input: HooksInput): Terminating | undefined {
  if (!object.deletionTimestamp || object.finalizers.length === 0) return undefined;
  if (input.now.getTime() - object.deletionTimestamp.getTime() < input.terminatingAfterMs) return undefined;
  return {
    kind: object.kind,
    ...(object.namespace && { namespace: object.namespace }),
    name: object.name,
    deletionTimestamp: object.deletionTimestamp,
    finalizers: object.finalizers,
  };
}
