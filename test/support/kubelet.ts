/**
 * The test control plane has no kubelet and no controller manager, so a Job never runs
 * and never finishes: Helm hook Jobs and `--wait` would block until their timeout.
 * finishJob plays the kubelet's and job controller's part for one named Job by writing
 * the status they would write, so Helm's real hook flow can be tested end to end.
 */
import { orUndefined, pollUntil } from "./poll.ts";
import {
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1ContainerStatus,
  type V1Job,
  type V1JobCondition,
  type V1Pod,
} from "@kubernetes/client-node";

export type JobOutcome = "Complete" | "Failed";

/** Waits for the Job to exist (Helm creates hooks while the caller waits), then finishes it. */
export async function finishJob(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
  outcome: JobOutcome,
): Promise<V1Job> {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const job = await waitForJob(batch, namespace, name);
  const now = new Date();
  const started = job.status?.startTime ?? new Date(now.getTime() - 1000);
  const condition = (type: string, reason: string, message: string): V1JobCondition => ({
    type,
    status: "True",
    reason,
    message,
    lastProbeTime: now,
    lastTransitionTime: now,
  });
  // The apiserver validates Job status transitions: a terminal condition must follow the
  // matching interim one (SuccessCriteriaMet / FailureTarget), as the job controller writes them.
  job.status =
    outcome === "Complete"
      ? {
          startTime: started,
          completionTime: now,
          active: 0,
          ready: 0,
          succeeded: job.spec?.completions ?? 1,
          failed: 0,
          uncountedTerminatedPods: {},
          conditions: [
            condition(
              "SuccessCriteriaMet",
              "CompletionsReached",
              "Reached expected number of succeeded pods",
            ),
            condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
          ],
        }
      : {
          startTime: started,
          active: 0,
          ready: 0,
          succeeded: 0,
          failed: (job.spec?.backoffLimit ?? 6) + 1,
          uncountedTerminatedPods: {},
          conditions: [
            condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
            condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
          ],
        };
  return batch.replaceNamespacedJobStatus({ name, namespace, body: job });
}

/** Marks a Job as started (status.startTime, one active pod), as a running hook would look. */
export async function startJob(kubeConfig: KubeConfig, namespace: string, name: string) {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const job = await waitForJob(batch, namespace, name);
  job.status = { startTime: new Date(), active: 1, ready: 0, uncountedTerminatedPods: {} };
  return batch.replaceNamespacedJobStatus({ name, namespace, body: job });
}

function waitForJob(batch: BatchV1Api, namespace: string, name: string): Promise<V1Job> {
  return pollUntil(`Job ${namespace}/${name}`, () =>
    orUndefined(() => batch.readNamespacedJob({ name, namespace })),
  );
}

/** How a Pod of a Job ended (or stands): its phase, and how its containers' last run ended. */
export interface PodOutcome {
  /** The Pod's name after the Job's: `<job>-<suffix>`, as the job controller names them (fixed here, for recordings). */
  readonly suffix: string;
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed";
  /** Each container terminated so (absent: running). */
  readonly terminated?: { readonly reason: string; readonly exitCode: number };
}

/**
 * Creates the Pods the job controller would create for a Job (its template's labels, among them
 * job-name and batch.kubernetes.io/job-name, and an ownerReference to the Job), then writes
 * their status through the status subresource as the kubelet would. One after the other, a
 * second apart, so that the newest is the last given (creationTimestamp has seconds).
 */
export async function createJobPods(
  kubeConfig: KubeConfig,
  namespace: string,
  jobName: string,
  outcomes: readonly PodOutcome[],
): Promise<V1Pod[]> {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const job = await waitForJob(batch, namespace, jobName);
  await ensureDefaultServiceAccount(core, namespace);
  const template = job.spec?.template;
  const created: V1Pod[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, 1100));
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: `${jobName}-${outcome.suffix}`,
          labels: template?.metadata?.labels ?? {},
          ownerReferences: [
            {
              apiVersion: "batch/v1",
              kind: "Job",
              name: jobName,
              uid: job.metadata?.uid ?? "",
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          containers: template?.spec?.containers ?? [],
          restartPolicy: template?.spec?.restartPolicy ?? "Never",
        },
      },
    });
    const now = new Date();
    const containerStatuses: V1ContainerStatus[] = (pod.spec?.containers ?? []).map((container) => ({
      name: container.name,
      image: container.image ?? "",
      imageID: "",
      ready: false,
      restartCount: 0,
      state: outcome.terminated
        ? {
            terminated: {
              ...outcome.terminated,
              startedAt: new Date(now.getTime() - 500),
              finishedAt: now,
            },
          }
        : { running: { startedAt: now } },
    }));
    pod.status = { phase: outcome.phase, startTime: now, containerStatuses };
    created.push(
      await core.replaceNamespacedPodStatus({ name: `${jobName}-${outcome.suffix}`, namespace, body: pod }),
    );
  }
  return created;
}

/** No controller manager, so no token controller creates the namespace's default ServiceAccount, which Pods need. */
async function ensureDefaultServiceAccount(core: CoreV1Api, namespace: string): Promise<void> {
  const existing = await orUndefined(() => core.readNamespacedServiceAccount({ name: "default", namespace }));
  if (!existing)
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "default" } } });
}
