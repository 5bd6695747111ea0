/**
 * The fast path: stamps a copy of a helm v3 template release under another name and
 * namespace by writing what helm v3 writes, request for request where it matters (see the
 * comment at the top of bench/populate.ts).
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { ApiError, collectionPath, objectPath, type Api } from "./kube.ts";
import type { ReleaseTemplate, RevisionTemplate, TemplateObject } from "./template.ts";

const gzipAsync = promisify(gzip);

/** helm's kube client (pkg/kube/client.go) sets this field manager on creates and patches. */
export const HELM_FIELD_MANAGER = "helm";
/**
 * Helm's storage driver uses client-go's typed client without a field manager, so the
 * apiserver takes the User-Agent up to its "/": helm sets "Helm/<version>".
 */
export const HELM_STORAGE_FIELD_MANAGER = "Helm";

export interface FastTarget {
  readonly namespace: string;
  readonly name: string;
}

export interface StampResult {
  /** Objects of the deployed revision that exist afterwards. */
  readonly objects: number;
  readonly secrets: number;
}

/** Writes the release `target` as a copy of `template`, with its times moved to `nowMs`. */
export async function stampRelease(
  api: Api,
  template: ReleaseTemplate,
  target: FastTarget,
  nowMs: number = Date.now(),
): Promise<StampResult> {
  const rename = renamer(template, target);
  let previous: RevisionTemplate | undefined;
  let deployed = 0;
  for (const revision of template.revisions) {
    await applyRevision(api, previous, revision, rename);
    if (revision.status !== "failed") {
      previous = revision;
      deployed = revision.objects.length;
    }
  }
  const shift = Math.floor(nowMs / 1000) - template.anchorSeconds;
  await Promise.all(
    template.revisions.map((revision) => writeReleaseSecret(api, revision, target, rename, shift)),
  );
  return { objects: deployed, secrets: template.revisions.length };
}

/**
 * What helm v3 does to the objects in one revision: install creates every object (POST,
 * fieldManager helm); an upgrade creates new objects, patches those whose rendered object
 * changed (helm skips an empty three-way patch) and deletes those no longer rendered. An
 * upgrade the apiserver refuses leaves the objects whose patch succeeded patched, as helm
 * goes on after a failed patch and deletes nothing.
 */
async function applyRevision(
  api: Api,
  previous: RevisionTemplate | undefined,
  revision: RevisionTemplate,
  rename: (text: string) => string,
): Promise<void> {
  const before = new Map((previous?.objects ?? []).map((object) => [object.key, object]));
  const failing = revision.status === "failed";
  const errors: string[] = [];
  await Promise.all(
    revision.objects.map(async (object) => {
      const old = before.get(object.key);
      before.delete(object.key);
      if (old?.body === object.body) return;
      const body = rename(object.body);
      const namespace = object.namespace && rename(object.namespace);
      if (!old) {
        await api.create(collectionPath(object.resource, namespace), body, HELM_FIELD_MANAGER);
        return;
      }
      const response = await api.patch(
        objectPath(object.resource, namespace, rename(object.name)),
        object.custom ? "merge" : "strategic",
        body,
        HELM_FIELD_MANAGER,
      );
      if (response.status >= 200 && response.status < 300) return;
      if (failing && response.status >= 400 && response.status < 500) {
        errors.push(`${object.key}: ${String(response.status)}`);
        return;
      }
      throw new ApiError(response.status, `patch ${rename(object.key)}: ${response.text}`);
    }),
  );
  if (failing) {
    if (errors.length === 0)
      throw new Error(`revision ${String(revision.revision)} failed in helm but not here`);
    return;
  }
  await Promise.all(
    [...before.values()].map((object: TemplateObject) => {
      const namespace = object.namespace && rename(object.namespace);
      return api.must(
        "DELETE",
        objectPath(object.resource, namespace, rename(object.name)),
        JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" }),
      );
    }),
  );
}

/**
 * One release Secret as Helm's Secrets driver stores it: type helm.sh/release.v1, the
 * template's labels (name renamed, modifiedAt moved in time), data.release = base64 of
 * gzip(best compression) of the record JSON. The record is Helm's own JSON with the release
 * name, namespace and times replaced in the text, so key order, number format and Go's
 * HTML escaping stay Helm's; the gzip header is Go's (no mtime, XFL 2, OS 255).
 */
async function writeReleaseSecret(
  api: Api,
  revision: RevisionTemplate,
  target: FastTarget,
  rename: (text: string) => string,
  shiftSeconds: number,
): Promise<void> {
  let record = rename(revision.record);
  for (const time of revision.times) {
    record = record.replaceAll(JSON.stringify(time), JSON.stringify(shiftTime(time, shiftSeconds)));
  }
  const compressed = await gzipAsync(Buffer.from(record, "utf8"), { level: 9 });
  compressed[9] = 0xff; // Go's compress/gzip writes OS "unknown"; zlib writes 3 (Unix)
  const helmEncoded = compressed.toString("base64");
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(revision.labels)) {
    labels[key] =
      key === "modifiedAt" || key === "createdAt" ? String(Number(value) + shiftSeconds) : rename(value);
  }
  const body = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: rename(revision.secretName), labels },
    type: "helm.sh/release.v1",
    data: { release: Buffer.from(helmEncoded, "latin1").toString("base64") },
  };
  await api.create(
    `/api/v1/namespaces/${target.namespace}/secrets`,
    JSON.stringify(body),
    HELM_STORAGE_FIELD_MANAGER,
  );
}

/** Replaces the template's release name and namespace, in one pass, wherever they occur. */
export function renamer(template: Pick<ReleaseTemplate, "name" | "namespace">, target: FastTarget) {
  if (template.name.includes(template.namespace) || template.namespace.includes(template.name)) {
    throw new Error(`template name ${template.name} and namespace ${template.namespace} overlap`);
  }
  const pattern = new RegExp(`${escape(template.name)}|${escape(template.namespace)}`, "g");
  return (text: string): string =>
    text.replace(pattern, (found) => (found === template.name ? target.name : target.namespace));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Moves an RFC3339(Nano) time by whole seconds, keeping its fraction digits and zone. */
export function shiftTime(value: string, seconds: number): string {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (!match?.[1] || !match[3]) throw new Error(`not an RFC3339 time: ${value}`);
  const zone = match[3];
  const wallClock = Date.parse(`${match[1]}Z`); // the local time, read as if it were UTC
  const shifted = new Date(wallClock + seconds * 1000).toISOString().slice(0, 19);
  return `${shifted}${match[2] ?? ""}${zone}`;
}
