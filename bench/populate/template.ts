/**
 * A release made by real helm v3, read back as a template for the fast path: its release
 * Secrets (labels and the decompressed record JSON, byte for byte as Helm wrote it) and, per
 * revision, the objects helm sent to the apiserver (its manifest, plus the metadata helm adds).
 */
import { gunzipSync } from "node:zlib";
import { isMap, parseAllDocuments, type Tags } from "yaml";
import { type Api, type Resource, type Resources } from "./kube.ts";

export interface TemplateObject {
  /** apiVersion/kind/name, with the template's names. */
  readonly key: string;
  readonly resource: Resource;
  readonly name: string;
  /** Set for namespaced kinds. */
  readonly namespace: string | undefined;
  /** Not a built-in kind: helm patches it with a JSON merge patch instead of a strategic one. */
  readonly custom: boolean;
  /** The JSON body helm creates or patches it with. */
  readonly body: string;
}

export interface RevisionTemplate {
  readonly revision: number;
  readonly status: string;
  readonly secretName: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The record JSON Helm gzipped, exactly as it wrote it. */
  readonly record: string;
  /** RFC3339 times in the record (info and hook runs), to move to the fast release's time. */
  readonly times: readonly string[];
  readonly objects: readonly TemplateObject[];
}

export interface ReleaseTemplate {
  readonly name: string;
  readonly namespace: string;
  readonly revisions: readonly RevisionTemplate[];
  /** The newest time in the records (unix seconds): the fast path moves every time by (now - this). */
  readonly anchorSeconds: number;
  /** Chart name-version. */
  readonly chart: string;
}

interface SecretList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    type: string;
    data?: Record<string, string>;
  }[];
}

export interface ReleaseRecord {
  version: number;
  manifest?: string;
  info?: Record<string, unknown>;
  hooks?: { last_run?: Record<string, unknown> }[] | null;
  chart?: { metadata?: { name?: string; version?: string } };
}

/** Reads a helm v3 release's Secrets and turns each revision into what the fast path writes. */
export async function readTemplate(
  api: Api,
  resources: Resources,
  release: { readonly namespace: string; readonly name: string },
): Promise<ReleaseTemplate> {
  const list = await api.getJson<SecretList>(
    `/api/v1/namespaces/${release.namespace}/secrets?labelSelector=${encodeURIComponent(`owner=helm,name=${release.name}`)}`,
  );
  const revisions: RevisionTemplate[] = [];
  let anchorSeconds = 0;
  let chart = "";
  for (const secret of list.items) {
    const labels = secret.metadata.labels ?? {};
    const encoded = secret.data?.release;
    if (secret.type !== "helm.sh/release.v1" || encoded === undefined) {
      throw new Error(`${secret.metadata.name} is not a Helm release Secret`);
    }
    const record = decodeRecord(encoded);
    const parsed = JSON.parse(record) as ReleaseRecord;
    const times = recordTimes(parsed);
    for (const time of times) anchorSeconds = Math.max(anchorSeconds, Math.floor(Date.parse(time) / 1000));
    chart = `${parsed.chart?.metadata?.name ?? ""}-${parsed.chart?.metadata?.version ?? ""}`;
    revisions.push({
      revision: parsed.version,
      status: labels.status ?? "",
      secretName: secret.metadata.name,
      labels,
      record,
      times,
      objects: await manifestObjects(resources, parsed.manifest ?? "", release),
    });
  }
  revisions.sort((a, b) => a.revision - b.revision);
  if (revisions.length === 0) throw new Error(`no release ${release.namespace}/${release.name}`);
  return { name: release.name, namespace: release.namespace, revisions, anchorSeconds, chart };
}

/** The Secret's data.release: base64 (the API's) of base64 (Helm's) of gzip of the JSON. */
export function decodeRecord(data: string): string {
  const helmEncoded = Buffer.from(data, "base64").toString("latin1");
  return gunzipSync(Buffer.from(helmEncoded, "base64")).toString("utf8");
}

/** Every time a release record holds; the fast path moves them all by the same shift. */
export function recordTimes(record: ReleaseRecord): string[] {
  const times = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string" && value !== "") times.add(value);
  };
  add(record.info?.first_deployed);
  add(record.info?.last_deployed);
  add(record.info?.deleted);
  for (const hook of record.hooks ?? []) {
    add(hook.last_run?.started_at);
    add(hook.last_run?.completed_at);
  }
  return [...times];
}

/**
 * The objects of a manifest as helm v3 sends them: each YAML document read the way
 * Kubernetes' YAML reader reads it (YAML 1.1 scalars, no timestamps), plus the label
 * app.kubernetes.io/managed-by=Helm and the annotations meta.helm.sh/release-name and
 * -namespace (helm's setMetadataVisitor), and the release namespace on namespaced kinds
 * (the resource builder's default namespace).
 */
async function manifestObjects(
  resources: Resources,
  manifest: string,
  release: { readonly namespace: string; readonly name: string },
): Promise<TemplateObject[]> {
  const documents = parseAllDocuments(manifest, {
    version: "1.1",
    merge: true,
    customTags: withoutTimeTags,
  });
  if (!Array.isArray(documents)) return [];
  const objects: TemplateObject[] = [];
  for (const document of documents) {
    if (document.errors.length > 0)
      throw new Error(`manifest is not valid YAML: ${document.errors[0]?.message ?? ""}`);
    if (!isMap(document.contents)) continue;
    const object = document.toJS() as Record<string, unknown>;
    const apiVersion = object.apiVersion;
    const kind = object.kind;
    const metadata = (object.metadata ?? {}) as Record<string, unknown>;
    const name = metadata.name;
    if (typeof apiVersion !== "string" || typeof kind !== "string" || typeof name !== "string") {
      throw new Error(`manifest object without apiVersion, kind or name: ${JSON.stringify(object)}`);
    }
    const resource = await resources.resolve(apiVersion, kind);
    metadata.labels = {
      ...(metadata.labels as Record<string, string> | undefined),
      "app.kubernetes.io/managed-by": "Helm",
    };
    metadata.annotations = {
      ...(metadata.annotations as Record<string, string> | undefined),
      "meta.helm.sh/release-name": release.name,
      "meta.helm.sh/release-namespace": release.namespace,
    };
    if (resource.namespaced && (typeof metadata.namespace !== "string" || metadata.namespace === "")) {
      metadata.namespace = release.namespace;
    }
    object.metadata = metadata;
    objects.push({
      key: `${apiVersion}/${kind}/${name}`,
      resource,
      name,
      namespace: resource.namespaced ? (metadata.namespace as string) : undefined,
      custom: isCustomGroup(apiVersion),
      body: JSON.stringify(object),
    });
  }
  return objects;
}

/** Kubernetes' own groups: the core group, dot-less groups (apps, batch, ...) and *.k8s.io. */
function isCustomGroup(apiVersion: string): boolean {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return false;
  const group = apiVersion.slice(0, slash);
  return group.includes(".") && !group.endsWith(".k8s.io");
}

/** go-yaml reads `12:30` and `2001-12-14` as strings; the yaml library's 1.1 schema would not. */
function withoutTimeTags(tags: Tags): Tags {
  return tags.filter(
    (tag) =>
      !(typeof tag === "object" && (tag.format === "TIME" || tag.tag === "tag:yaml.org,2002:timestamp")),
  );
}
