/**
 * The test control plane has no kubelet and no controller manager, so a Job never runs
 * and never finishes: Helm hook Jobs and `--wait` would block until their timeout.
 * finishJob plays the kubelet's and job controller's part for one named Job by writing
 * the status they would write, so Helm's real hook flow can be tested end to end.
 */
import { orUndefined, pollUntil } from "./poll.ts";
import { BatchV1Api, type KubeConfig, type V1Job, type V1JobCondition } from "@kubernetes/client-node";

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
