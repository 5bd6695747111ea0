/**
 * Which resource serves an apiVersion/kind, and whether it is namespaced, from the
 * aggregated discovery documents (two requests for the whole API). Cached: discovery
 * changes rarely, so it is refreshed on a timer or when a kind is not found.
 */
import type { KubeClient } from "../kube/client.ts";
import { kindKey } from "../model/refs.ts";

export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

interface DiscoveryList {
  items?: {
    metadata?: { name?: string };
    versions?: {
      version: string;
      /** "Stale" when an aggregated API server did not answer: its resources are not known. */
      freshness?: string;
      resources?: {
        resource: string;
        responseKind?: { kind?: string };
        scope?: string;
        verbs?: string[];
      }[];
    }[];
  }[];
}

const AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

export class Discovery {
  private readonly client: KubeClient;
  private readonly maxAgeMs: number;
  private byKind = new Map<string, ResourceInfo>();
  /** API versions whose server did not answer discovery (aggregated APIs): not known to be unserved. */
  private stale = new Set<string>();
  private fetchedAt = 0;

  constructor(client: KubeClient, maxAgeMs = 10 * 60_000) {
    this.client = client;
    this.maxAgeMs = maxAgeMs;
  }

  /** Refreshes when stale; call once at the start of a scan. */
  async ensureFresh(signal?: AbortSignal): Promise<void> {
    if (Date.now() - this.fetchedAt > this.maxAgeMs) await this.refresh(signal);
  }

  /** Refreshes when any of these kinds is unknown (a CRD installed since the last refresh). */
  async ensureKnown(
    kinds: readonly { apiVersion: string; kind: string }[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (
      kinds.some((kind) => !this.resolve(kind.apiVersion, kind.kind)) &&
      Date.now() - this.fetchedAt > 5_000
    ) {
      await this.refresh(signal);
    }
  }

  /** Discovery has been read at least once: until then, no kind resolves, served or not. */
  get loaded(): boolean {
    return this.fetchedAt > 0;
  }

  resolve(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.byKind.get(kindKey({ apiVersion, kind }));
  }

  /**
   * Whether the API serves this kind at this version: undefined when that cannot be told
   * (discovery not read yet, or the API server of that group did not answer it).
   */
  served(apiVersion: string, kind: string): boolean | undefined {
    if (this.resolve(apiVersion, kind)) return true;
    if (!this.loaded || this.stale.has(apiVersion)) return undefined;
    return false;
  }

  async refresh(signal?: AbortSignal): Promise<void> {
    const [core, groups] = await Promise.all([
      this.client.get<DiscoveryList>("/api", "discovery", signal, AGGREGATED),
      this.client.get<DiscoveryList>("/apis", "discovery", signal, AGGREGATED),
    ]);
    const byKind = new Map<string, ResourceInfo>();
    const stale = new Set<string>();
    for (const group of [...(core.items ?? []), ...(groups.items ?? [])]) {
      const groupName = group.metadata?.name ?? "";
      for (const version of group.versions ?? []) {
        const apiVersion = groupName === "" ? version.version : `${groupName}/${version.version}`;
        if (version.freshness === "Stale") stale.add(apiVersion);
        for (const resource of version.resources ?? []) {
          const kind = resource.responseKind?.kind;
          if (!kind || resource.resource.includes("/")) continue;
          byKind.set(kindKey({ apiVersion, kind }), {
            group: groupName,
            version: version.version,
            resource: resource.resource,
            kind,
            namespaced: resource.scope === "Namespaced",
            verbs: resource.verbs ?? [],
          });
        }
      }
    }
    this.byKind = byKind;
    this.stale = stale;
    this.fetchedAt = Date.now();
  }
}
