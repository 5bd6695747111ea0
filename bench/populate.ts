/**
 * The benchmark's populate step: fills a control plane with N Helm releases of the 21-object
 * `realworld` fixture chart (a CRD in crds/ and a custom resource among them), each with
 * several revisions, a share failed and a share drifted, all fixed by index.
 *
 * A few releases are made by real helm (half v3, half v4, `realHelm`); the rest go through
 * a fast path that writes, through the Kubernetes API, what helm v3 itself writes:
 *
 * - Templates: two of the real helm v3 releases, one succeeded, one whose last upgrade
 *   failed, are read back: their release Secrets and their manifests. Every fast release
 *   goes through the same sequence of `--set` values (plan.ts), so each revision is rendered
 *   once, by helm. Names are substituted in the text: the chart uses the release name and
 *   namespace verbatim (no trunc or hashing), and bench names have one shape (bench-00000,
 *   bench-ns-000), so the substituted text is what helm would have rendered.
 * - Objects (fast.ts): revision 1 creates every manifest object with POST ?fieldManager=helm,
 *   the body being the manifest document read as Kubernetes reads YAML plus what helm adds
 *   (label app.kubernetes.io/managed-by=Helm, annotations meta.helm.sh/release-name and
 *   -namespace, the release namespace). Each later revision patches, with field manager helm
 *   (operation Update), the objects whose rendered body changed (a strategic merge patch,
 *   a JSON merge patch for custom resources, as helm does; helm sends nothing when its
 *   three-way patch is empty). A patch of an unchanged field changes nothing, so the result,
 *   generation and managedFields match helm's three-way patch. The failed upgrade sends the
 *   same patches and the apiserver refuses the same one (an immutable StatefulSet field),
 *   leaving the objects as helm leaves them.
 * - Release Secrets (fast.ts): sh.helm.release.v1.<name>.v<rev>, type helm.sh/release.v1,
 *   the template's labels: name, owner=helm, status, version and modifiedAt, no createdAt.
 *   (Helm's Secrets driver sets createdAt on create and modifiedAt on update, but an update
 *   replaces the labels with the release's labels as read from storage, which already hold
 *   the first modifiedAt, and an upgrade copies the previous revision's labels: every
 *   revision ends with modifiedAt = when revision 1 was first updated.) The times move
 *   with the record's. data.release = base64(gzip level 9(record JSON)): the record is
 *   Helm's own JSON text with name, namespace and times replaced, so key order, number
 *   format and Go's HTML escaping stay Helm's and only the deflate bytes differ (zlib vs
 *   Go; the gzip header is set to Go's). Field manager "Helm": Helm's storage driver sends
 *   none and its User-Agent is "Helm/<version>".
 * - The CRD comes from the template releases' install (helm skips an existing CRD).
 * - Drift (drift.ts): real kubectl on real-helm releases; on fast ones the requests kubectl
 *   sends (set image, scale, edit, delete), with kubectl's field managers.
 *
 * Same options, same releases: names, namespaces, values and which releases are real,
 * failed or drifted (and how) depend on the index only (plan.ts). Populate expects a control
 * plane without these releases. Each release takes 3 cluster IPs and 3 node ports: 1,000
 * releases need a larger --service-cluster-ip-range than a /24 and a larger
 * --service-node-port-range than the default 30000-32767.
 *
 * test/integration/bench-populate.test.ts proves it: a real helm v3 release and a fast one of
 * the same name, same revisions, drifted and failed, give the same release Secrets (labels,
 * decoded records), the same live objects (spec, data, labels, annotations, generation,
 * managedFields) and the same exporter report, namespaces and times aside.
 */
import { Api, Resources } from "./populate/kube.ts";
import { driftViaApi, driftViaKubectl } from "./populate/drift.ts";
import { stampRelease } from "./populate/fast.ts";
import { deployedRevision, plan, type PlannedRelease } from "./populate/plan.ts";
import { readTemplate, type ReleaseTemplate } from "./populate/template.ts";
import { helmRelease, type Tools } from "./populate/tools.ts";

export interface PopulateOptions {
  /** Admin kubeconfig of the control plane. */
  readonly kubeconfig: string;
  /** Where helm, helm4 and kubectl are (ClusterInfo.binDir). */
  readonly binDir: string;
  /** clusterEnv(info) from controlplane/cluster-info.ts (HELM_* dirs, PATH). */
  readonly env: Record<string, string>;
  /** Releases in total. */
  readonly releases: number;
  /** Revisions per release, default 3. */
  readonly revisions?: number;
  /** Namespaces the releases are spread over (release i in namespace i mod count), default ceil(N/25). */
  readonly namespaces?: number;
  /** Releases made by real helm, half v3, half v4 (at least 1, or 3 with failures), default 10. */
  readonly realHelm?: number;
  /** Share of releases drifted after populate, default 0.1. */
  readonly driftShare?: number;
  /** Share of releases whose latest revision is a failed upgrade, default 0.05. */
  readonly failedShare?: number;
  /** Fast-path releases written at once (and HTTP connections), default 16. */
  readonly concurrency?: number;
  /** Namespace names: prefix + index, default "bench-ns-" (bench-ns-000, ...). */
  readonly namespacePrefix?: string;
  readonly log?: (line: string) => void;
}

export interface PopulatedRelease {
  readonly namespace: string;
  readonly name: string;
  readonly via: "helm-v3" | "helm-v4" | "fast";
  readonly drifted: boolean;
  readonly failed: boolean;
  readonly revisions: number;
}

export interface PopulateResult {
  readonly releases: readonly PopulatedRelease[];
  /** Live objects the releases' deployed revisions made (before drift deleted any). */
  readonly objects: number;
  readonly releaseSecrets: number;
  readonly seconds: number;
  /** Chart name-version. */
  readonly chart: string;
}

const REAL_HELM_CONCURRENCY = 4;

export async function populate(options: PopulateOptions): Promise<PopulateResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const n = options.releases;
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const planned = plan({
    releases: n,
    revisions: options.revisions ?? 3,
    namespaces: Math.max(1, options.namespaces ?? Math.ceil(n / 25)),
    realHelm: options.realHelm ?? 10,
    driftShare: options.driftShare ?? 0.1,
    failedShare: options.failedShare ?? 0.05,
    namespacePrefix: options.namespacePrefix ?? "bench-ns-",
  });
  const tools: Tools = { kubeconfig: options.kubeconfig, binDir: options.binDir, env: options.env };
  const api = await Api.connect(options.kubeconfig, concurrency);
  const resources = new Resources(api);
  const elapsed = () => (performance.now() - started) / 1000;
  try {
    const namespaces = [...new Set(planned.map((release) => release.namespace))];
    await forEach(namespaces, concurrency, (namespace) => api.ensureNamespace(namespace));

    const real = planned.filter((release) => release.via !== "fast");
    const fast = planned.filter((release) => release.via === "fast");
    const okTemplate = real.find((release) => release.via === "helm-v3" && !release.failed);
    const failedTemplate = real.find((release) => release.via === "helm-v3" && release.failed);
    const templateReleases = [okTemplate, failedTemplate].filter((release) => release !== undefined);
    log(
      `populate: ${String(n)} releases (${String(real.length)} real helm, ${String(fast.length)} fast) in ` +
        `${String(namespaces.length)} namespaces; templates ${templateReleases.map(label).join(", ")}`,
    );
    await forEach(templateReleases, REAL_HELM_CONCURRENCY, (release) => makeWithHelm(tools, release));
    const templates = new Map<boolean, ReleaseTemplate>();
    for (const release of templateReleases) {
      templates.set(release.failed, await readTemplate(api, resources, release));
    }
    log(`populate: templates ready after ${elapsed().toFixed(1)} s`);

    const realLeft = real.filter((release) => !templateReleases.includes(release));
    const fastStarted = performance.now();
    const requestsBefore = api.requests;
    let fastDone = 0;
    let fastObjects = 0;
    let fastSeconds = 0;
    let fastRequests = 0;
    const progress = setInterval(() => {
      if (fastDone === fast.length) return;
      const seconds = (performance.now() - fastStarted) / 1000;
      log(
        `populate: fast ${String(fastDone)}/${String(fast.length)} releases, ${String(fastObjects)} objects, ` +
          `${(fastObjects / seconds).toFixed(0)} objects/s, ${((api.requests - requestsBefore) / seconds).toFixed(0)} requests/s`,
      );
    }, 5000);
    try {
      await Promise.all([
        forEach(realLeft, REAL_HELM_CONCURRENCY, (release) => makeWithHelm(tools, release)),
        forEach(fast, concurrency, async (release) => {
          const template = templates.get(release.failed);
          if (!template) throw new Error(`no template for ${label(release)}`);
          const stamped = await stampRelease(api, template, release);
          fastObjects += stamped.objects;
          if (++fastDone === fast.length) {
            fastSeconds = (performance.now() - fastStarted) / 1000;
            fastRequests = api.requests - requestsBefore;
          }
        }),
      ]);
    } finally {
      clearInterval(progress);
    }
    log(
      `populate: fast path: ${String(fast.length)} releases, ${String(fastObjects)} objects in ` +
        `${fastSeconds.toFixed(1)} s: ${(fastObjects / fastSeconds).toFixed(0)} objects/s, ` +
        `${(fastRequests / fastSeconds).toFixed(0)} requests/s (${String(realLeft.length)} real helm releases alongside); ` +
        `all releases made after ${elapsed().toFixed(1)} s`,
    );

    const drifted = planned.filter((release) => release.drift !== undefined);
    await forEach(drifted, concurrency, async (release) => {
      if (release.drift === undefined) return;
      if (release.via === "fast") await driftViaApi(api, release, release.drift);
      else await driftViaKubectl(tools, release, release.drift);
    });

    const objectsOf = (release: PlannedRelease): number =>
      templates
        .get(release.failed)
        ?.revisions.find((revision) => revision.revision === deployedRevision(release))?.objects.length ?? 0;
    const objects = planned.reduce((sum, release) => sum + objectsOf(release), 0);
    const seconds = elapsed();
    log(
      `populate: done in ${seconds.toFixed(1)} s: ${String(n)} releases, ${String(objects)} objects, ` +
        `${String(drifted.length)} drifted, ${String(planned.filter((r) => r.failed).length)} failed`,
    );
    return {
      releases: planned.map((release) => ({
        namespace: release.namespace,
        name: release.name,
        via: release.via,
        drifted: release.drift !== undefined,
        failed: release.failed,
        revisions: release.revisions,
      })),
      objects,
      releaseSecrets: planned.reduce((sum, release) => sum + release.revisions, 0),
      seconds,
      chart: templates.get(false)?.chart ?? templates.get(true)?.chart ?? "",
    };
  } finally {
    api.close();
  }
}

function makeWithHelm(tools: Tools, release: PlannedRelease): Promise<void> {
  return helmRelease(tools, release.via === "helm-v4" ? "v4" : "v3", release);
}

function label(release: PlannedRelease): string {
  return `${release.namespace}/${release.name} (${release.via}${release.failed ? ", failed" : ""})`;
}

/** Runs `task` for every item, at most `limit` at once; the first error stops new tasks. */
async function forEach<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error("populate task failed", { cause: error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure;
}
