/**
 * Whether each release namespace is being deleted: a terminating namespace refuses the new
 * release record that every rollback and upgrade writes first. Namespaces are watched
 * metadata-only, cluster-wide. An exporter allowed only into its namespaces (Roles, the
 * chart's namespaced mode) may not list namespaces, but a Role may grant `get` on its own
 * namespace object: each is then read by name, once per scan.
 */
import { KubeApiError, type KubeClient, type KubeObject } from "../kube/client.ts";
import { namespacedName } from "../model/refs.ts";
import { mapLimit } from "../util/pool.ts";
import type { Collections } from "./collections.ts";
import { namespaceByName } from "./namespaces.ts";

export type NamespaceState = "active" | "terminating" | "unknown";

/** Module level: a collection keeps its `keep` for as long as it watches. */
const keepPhase = (item: KubeObject): "active" | "terminating" =>
  item.metadata.deletionTimestamp ? "terminating" : "active";

export async function readNamespaceStates(
  collections: Collections,
  client: KubeClient,
  namespaces: readonly string[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<ReadonlyMap<string, NamespaceState>> {
  const states = new Map<string, NamespaceState>();
  if (namespaces.length === 0) return states;
  try {
    const listed = await collections.read(
      {
        purpose: "namespaces",
        path: "/api/v1/namespaces",
        resource: "namespaces",
        metadataOnly: true,
        keep: keepPhase,
      },
      signal,
    );
    // A namespace not listed is gone: as good as terminating for a record that would be written there.
    for (const namespace of namespaces)
      states.set(namespace, listed.get(namespacedName(undefined, namespace)) ?? "terminating");
    return states;
  } catch (error) {
    if (signal?.aborted) throw error;
    if (!(error instanceof KubeApiError && error.isForbidden)) {
      for (const namespace of namespaces) states.set(namespace, "unknown");
      return states;
    }
  }
  await mapLimit([...namespaces], concurrency, async (namespace) => {
    try {
      const object = await namespaceByName(client, namespace, signal);
      // A namespace that is gone is as good as terminating for a record that would be written there.
      states.set(namespace, object ? keepPhase(object) : "terminating");
    } catch (error) {
      if (signal?.aborted) throw error;
      states.set(namespace, "unknown");
    }
  });
  return states;
}
