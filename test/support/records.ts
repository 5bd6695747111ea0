/**
 * Release records written straight into release storage, as anyone who may create a Secret
 * in a namespace can: the exporter must treat them as hostile input.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import { encodeRelease } from "./encode.ts";
import { kubeConfig } from "./cluster.ts";

/** Stores `record` as helm's Secret driver would, revision and status labels included. */
export async function writeReleaseSecret(namespace: string, record: Record<string, unknown>): Promise<void> {
  const { name, version, info } = record as { name: string; version: number; info?: { status?: string } };
  const revision = String(version);
  const status = info?.status ?? "deployed";
  await kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name: `sh.helm.release.v1.${name}.v${revision}`,
          labels: { owner: "helm", name, version: revision, status },
        },
        type: "helm.sh/release.v1",
        stringData: { release: encodeRelease(record) },
      },
    });
}
