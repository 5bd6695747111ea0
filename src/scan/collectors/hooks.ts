/**
 * The hooks collector: hook objects (found by Helm's hook annotation, listed metadata-only but
 * Jobs) against the releases' records, and objects Helm applied that no manifest declares any
 * more. Objects of a release this scan could not see are nobody's leftovers: it is unknown.
 */
import {
  analyzeHooks,
  hookJobsOf,
  withHookJobs,
  type ClusterObject,
  type HookJob,
  type HooksReport,
} from "../../analysis/hooks.ts";
import { RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION } from "../../helm/vocabulary.ts";
import { objectRefKey, releaseKey, resourceRef } from "../../model/refs.ts";
import { DEFAULT_HOOK_KINDS, readHookObjects, readJobPods, type JobToRead } from "../../read/hook-objects.ts";
import { inScope } from "../../read/namespaces.ts";
import { listedNamespace } from "../../read/release-storage.ts";
import { errorMessage } from "../../util/errors.ts";
import { groupBy } from "../../util/group-by.ts";
import { mapLimit } from "../../util/pool.ts";
import type { Collector } from "../collector.ts";
import type { ScanContext } from "../context.ts";
import type { ReleasesSeen } from "../findings.ts";

export const hooksCollector: Collector = {
  name: "hooks",
  run: async (context, found, errors) => ({
    hooks: await collectHooks(context, found.releases, found.drift?.listed ?? [], errors),
  }),
};

async function collectHooks(
  context: ScanContext,
  seen: ReleasesSeen,
  releaseObjects: readonly ClusterObject[],
  errors: string[],
) {
  const namespaced = (apiVersion: string, kind: string) =>
    context.discovery.resolve(apiVersion, kind)?.namespaced;
  const releases = seen.histories.map((history) => {
    const records = [history.latest, history.base.result].flatMap((result) =>
      result.ok ? [result.record] : [],
    );
    const base = history.base.result.ok ? history.base.result.record : undefined;
    return {
      namespace: history.status.namespace,
      release: history.status.release,
      records,
      manifest: (base?.manifest ?? []).map((object) =>
        resourceRef(object, history.status.namespace, namespaced(object.apiVersion, object.kind)),
      ),
    };
  });
  const hookKinds = [
    ...DEFAULT_HOOK_KINDS,
    ...releases.flatMap(({ records }) =>
      records.flatMap((record) =>
        record.hooks.flatMap((hook) =>
          hook.apiVersion ? [{ apiVersion: hook.apiVersion, kind: hook.kind }] : [],
        ),
      ),
    ),
  ];
  const hookObjects = await readHookObjects(
    context.collections,
    context.discovery,
    context.scope,
    hookKinds,
    context.concurrency,
    context.signal,
  );
  errors.push(...hookObjects.errors);
  // Objects of a release this scan could not see are neither its leftovers nor a gone release's:
  // that release is unknown. The same for hooks in namespaces whose storage was not listed. A
  // release out of scope is not gone either: its objects, and hooks it may own, are not judged.
  const unknown = (namespace: string, release: string) =>
    !listedNamespace(seen.listing, namespace) || seen.unfetched.has(releaseKey({ namespace, release }));
  const found = analyzeHooks({
    releases,
    hookObjects: hookObjects.objects.filter(
      (object) => object.namespace === undefined || listedNamespace(seen.listing, object.namespace),
    ),
    // Cluster-scoped objects come from cluster-wide lists: keep those of releases this scan covers,
    // or a release in another namespace would look gone.
    releaseObjects: uniqueObjects([...releaseObjects, ...hookObjects.releaseObjects]).filter((object) => {
      const namespace = object.annotations[RELEASE_NAMESPACE_ANNOTATION];
      const release = object.annotations[RELEASE_NAME_ANNOTATION];
      return (
        release !== undefined &&
        namespace !== undefined &&
        inScope(context.scope, namespace) &&
        seen.scope.includes(namespace, release) &&
        !unknown(namespace, release)
      );
    }),
    now: new Date(),
    terminatingAfterMs: context.terminatingAfterMs,
  });
  // A hook no release in scope names may be an out-of-scope release's: judged only where none is.
  // The releases in scope still see their own hooks wherever they are.
  return {
    byRelease: context.focus
      ? await withJobsRead(context, found.byRelease, hookObjects.objects)
      : found.byRelease,
    unreferenced: found.unreferenced.filter((object) => seen.scope.judgesHooksIn(object.namespace)),
  };
}

/**
 * `diagnose` only: each hook Job's conditions (already read with the Job) and the Pods it owns,
 * one LIST per namespace its hook Jobs are in (usually one; none without hook Jobs). A regular
 * scan reads no Pod in full.
 */
async function withJobsRead(
  context: ScanContext,
  byRelease: ReadonlyMap<string, HooksReport>,
  hookObjects: readonly ClusterObject[],
): Promise<ReadonlyMap<string, HooksReport>> {
  const objects = new Map(hookObjects.map((object) => [objectRefKey(object), object]));
  const result = new Map(byRelease);
  for (const [key, report] of byRelease) {
    const jobs = hookJobsOf(report).flatMap((ref) => {
      const object = objects.get(objectRefKey(ref));
      return object?.namespace ? [object] : [];
    });
    if (jobs.length === 0) continue;
    const byNamespace = groupBy(jobs, (job) => job.namespace ?? "");
    const read = new Map<string, HookJob>();
    await mapLimit([...byNamespace], context.concurrency, async ([namespace, inNamespace]) => {
      const toRead: JobToRead[] = inNamespace.map((job) => ({
        name: job.name,
        ...(job.uid && { uid: job.uid }),
      }));
      let pods: Map<string, HookJob["pods"]>;
      try {
        pods = await readJobPods(context.client, namespace, toRead, context.signal);
      } catch (error) {
        if (context.signal?.aborted) throw error;
        const unreadable = `cannot list pods in ${namespace}: ${errorMessage(error)}`;
        pods = new Map(inNamespace.map((job) => [job.name, { unreadable }]));
      }
      for (const job of inNamespace)
        read.set(objectRefKey(job), {
          conditions: job.jobConditions ?? [],
          pods: pods.get(job.name) ?? { pods: [], total: 0 },
        });
    });
    result.set(key, withHookJobs(report, read));
  }
  return result;
}

function uniqueObjects(objects: readonly ClusterObject[]): ClusterObject[] {
  const byKey = new Map(objects.map((object) => [objectRefKey(object), object]));
  return [...byKey.values()];
}
