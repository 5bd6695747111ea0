/** Connects to the cluster and sets up what scans read with, for `scan` and for serve's scanner process. */
import type { Config } from "../config/config.ts";
import { KubeClient, type RequestObserver } from "../kube/client.ts";
import type { Logger } from "../log/logger.ts";
import type { NamespaceScope } from "../read/namespaces.ts";
import type { ReleaseFilter } from "../model/release-filter.ts";
import { listRevisions } from "../read/release-storage.ts";
import { createScanContext, type ScanFocus } from "./context.ts";
import { scan } from "./scanner.ts";
import { errorMessage } from "../util/errors.ts";

/**
 * `watch`: a long-running server keeps what it read current with watches; a one-shot scan lists.
 * `focus`: the scan is about one release (`diagnose`), and reads only what it needs.
 */
export async function connectScanner(
  config: Config,
  logger: Logger,
  observer: RequestObserver,
  watch: boolean,
  focus?: ScanFocus,
) {
  const client = await KubeClient.connect(
    {
      ...(config.kubeconfig && { kubeconfig: config.kubeconfig }),
      ...(config.context && { context: config.context }),
    },
    observer,
  );
  const scope = { include: config.namespaces, exclude: config.excludeNamespaces };
  const context = createScanContext({
    client,
    scope,
    releaseFilter: config.releaseFilter,
    watch,
    concurrency: config.scanConcurrency,
    driftOptions: config.drift,
    maxDecodedBytes: config.maxDecodedBytes,
    // The rest of the heap is for the scan itself: live objects, analysis, rendering.
    maxHeldBytes: config.scanHeapLimitBytes / 2,
    terminatingAfterMs: config.terminatingAfterMs,
    logger,
    ...(focus && { focus }),
  });
  const reachable = await reportReachability(client, logger, scope, config.releaseFilter);
  return {
    /** Whether the API server answered at connect time (serve scans anyway: it may come up later). */
    reachable,
    close: () => {
      context.collections.close();
      client.close();
    },
    run: (signal: AbortSignal) => scan({ ...context, signal }),
    /** The names of the releases stored in a namespace (what `diagnose` offers when its release is not there). */
    releasesIn: async (namespace: string, signal: AbortSignal): Promise<string[]> => {
      const listing = await listRevisions(context.collections, { include: [namespace], exclude: [] }, signal);
      if (listing.errors.length > 0) throw new Error(listing.errors.map((error) => error.message).join("; "));
      return [...new Set(listing.revisions.map((ref) => ref.release))].sort();
    },
  };
}

/**
 * Says whether the API server answers, from a real request (`/version`, readable by every
 * identity): "connected" only when it did. An unreachable server does not stop a serving
 * exporter (it may come up later; scans fail until then), and `scan` fails on its first read.
 */
async function reportReachability(
  client: KubeClient,
  logger: Logger,
  scope: NamespaceScope,
  filter: ReleaseFilter,
): Promise<boolean> {
  const where = {
    server: client.serverUrl,
    namespaces: scope.include,
    excludeNamespaces: scope.exclude,
    ...(filter.releases.length > 0 && { releases: filter.releases }),
    ...(filter.excludeReleases.length > 0 && { excludeReleases: filter.excludeReleases }),
    ...(filter.namespaceSelector !== undefined && { namespaceSelector: filter.namespaceSelector }),
  };
  try {
    const version = await client.get<{ gitVersion?: string }>(
      "/version",
      "version",
      AbortSignal.timeout(10_000),
    );
    logger.info({ ...where, kubernetesVersion: version.gitVersion }, "connected");
    return true;
  } catch (error) {
    logger.warn(
      { ...where, err: errorMessage(error) },
      "the API server does not answer; scans fail until it does",
    );
    return false;
  }
}
