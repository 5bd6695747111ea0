/**
 * Reads Helm's release storage (Secrets and ConfigMaps labelled owner=helm).
 * Watched metadata-only: the labels carry name, status and revision, which is all
 * the history analysis needs. Only the revisions an analysis asks for are fetched and
 * decoded, and a decoded revision is cached by uid and resourceVersion, so an unchanged
 * revision is never fetched or decoded twice. Where a scan will read many unknown records of one
 * namespace (a cold start), they are listed in pages rather than fetched one by one.
 */
import { decodeBase64, decodeRelease, type DecodeLimits, type DecodeResult } from "../helm/decode.ts";
import {
  apiKindsOf,
  isReleaseStatus,
  type ApiKind,
  type ReleaseStatus,
  type StorageDriver,
} from "../helm/release.ts";
import { RELEASE_OWNER_SELECTOR, RELEASE_SECRET_TYPE, STORAGE_LABELS } from "../helm/vocabulary.ts";
import { objectVersion, type KubeClient, type KubeObject, type ObjectMeta } from "../kube/client.ts";
import type { Collections } from "./collections.ts";
import { collectionPaths, inScope, type NamespaceScope } from "./namespaces.ts";
import { errorMessage } from "../util/errors.ts";
import { groupBy } from "../util/group-by.ts";
import { mapLimit } from "../util/pool.ts";

/** One stored revision, known from its labels alone. */
export interface RevisionRef {
  readonly storage: StorageDriver;
  readonly namespace: string;
  readonly release: string;
  readonly revision: number;
  /** From the `status` label; "unknown" when the label is missing or not a Helm status. */
  readonly status: ReleaseStatus;
  readonly objectName: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly createdAt?: Date;
  readonly modifiedAt?: Date;
  /** Helm 3.13+ user release labels (`helm install --labels`). */
  readonly userLabels: Readonly<Record<string, string>>;
}

export interface StorageListing {
  readonly revisions: readonly RevisionRef[];
  /** Storage that could not be listed (RBAC, API errors): its releases are unknown, not absent. */
  readonly errors: readonly {
    readonly storage: StorageDriver;
    readonly path: string;
    /** The namespace the failed path lists; undefined for a cluster-wide list (every namespace). */
    readonly namespace?: string;
    readonly message: string;
  }[];
}

/** Whether a namespace's releases are known from a listing: no list that covers it failed. */
export function listedNamespace(listing: StorageListing, namespace: string): boolean {
  return listing.errors.every((error) => error.namespace !== undefined && error.namespace !== namespace);
}

/** A stored revision could not be fetched (API error, timeout): its release is unknown this scan, not unreadable. */
export class FetchError extends Error {}

const STORAGE: readonly { driver: StorageDriver; resource: string; fieldSelector?: string }[] = [
  { driver: "secret", resource: "secrets", fieldSelector: `type=${RELEASE_SECRET_TYPE}` },
  { driver: "configmap", resource: "configmaps" },
];

/**
 * Every stored revision in scope; with `release`, only that release's (Helm labels each record
 * `name=<release>`, so the apiserver filters: `diagnose` lists no other release's records).
 */
export async function listRevisions(
  collections: Collections,
  scope: NamespaceScope,
  signal?: AbortSignal,
  release?: string,
): Promise<StorageListing> {
  const labelSelector =
    release === undefined ? RELEASE_OWNER_SELECTOR : `${RELEASE_OWNER_SELECTOR},name=${release}`;
  const revisions: RevisionRef[] = [];
  const errors: { storage: StorageDriver; path: string; message: string }[] = [];
  for (const { driver, resource, fieldSelector } of STORAGE) {
    for (const path of collectionPaths(scope, "", "v1", resource)) {
      try {
        const kept = await collections.read(
          {
            purpose: "releases",
            path,
            resource,
            labelSelector,
            ...(fieldSelector && { fieldSelector }),
            metadataOnly: true,
            keep: KEEP_REVISION_REF[driver],
          },
          signal,
        );
        for (const ref of kept.values()) if (inScope(scope, ref.namespace)) revisions.push(ref);
      } catch (error) {
        if (signal?.aborted) throw error;
        const namespace = /^\/api\/v1\/namespaces\/([^/]+)\//.exec(path)?.[1];
        errors.push({
          storage: driver,
          path,
          ...(namespace !== undefined && { namespace: decodeURIComponent(namespace) }),
          message: errorMessage(error),
        });
      }
    }
  }
  return { revisions, errors };
}

/** Module level: a collection keeps its `keep`, and a closure made in a scan would keep that scan. */
const KEEP_REVISION_REF: Record<StorageDriver, (item: KubeObject) => RevisionRef | undefined> = {
  secret: (item) => revisionRef("secret", item.metadata),
  configmap: (item) => revisionRef("configmap", item.metadata),
};

function revisionRef(storage: StorageDriver, metadata: ObjectMeta): RevisionRef | undefined {
  const labels = metadata.labels ?? {};
  const release = labels.name;
  const revision = Number(labels.version);
  if (!release || !metadata.namespace || !Number.isInteger(revision) || revision < 1) return undefined;
  const status = labels.status;
  const createdAt = unixLabel(labels.createdAt);
  const modifiedAt = unixLabel(labels.modifiedAt);
  return {
    storage,
    namespace: metadata.namespace,
    release,
    revision,
    status: isReleaseStatus(status) ? status : "unknown",
    objectName: metadata.name,
    uid: metadata.uid,
    resourceVersion: metadata.resourceVersion,
    ...(createdAt && { createdAt }),
    ...(modifiedAt && { modifiedAt }),
    userLabels: Object.fromEntries(Object.entries(labels).filter(([key]) => !STORAGE_LABELS.has(key))),
  };
}

function unixLabel(value: string | undefined): Date | undefined {
  const seconds = Number(value);
  return value && Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : undefined;
}

/**
 * Fetches and decodes revisions, remembering each by uid and resourceVersion. What it holds is
 * bounded as a whole, not only per record: records are anyone's input, and many records each
 * under the per-record bound would otherwise fill the scanner's heap. A record that does not
 * fit is reported unreadable (too_large) with why, and read again once room is made.
 */
export class RevisionReader {
  private readonly cache = new Map<string, { result: DecodeResult; bytes: number }>();
  /** Of revisions read only for the API kinds they use. */
  private readonly kinds = new Map<string, ApiKindsResult>();
  private readonly client: KubeClient;
  private readonly limits: DecodeLimits;
  private readonly maxHeldBytes: number;
  private heldBytes = 0;
  private decodes = 0;
  private decoding: Promise<unknown> = Promise.resolve();

  /** `maxHeldBytes`: most the decoded records kept may take together (see heldBytes in decode.ts). */
  constructor(client: KubeClient, limits: DecodeLimits, maxHeldBytes = Number.POSITIVE_INFINITY) {
    this.client = client;
    this.limits = limits;
    this.maxHeldBytes = maxHeldBytes;
  }

  /** How many records were decoded since start: a cache hit does not count. */
  get decodeCount(): number {
    return this.decodes;
  }

  /** About how much memory the records kept take. */
  get held(): number {
    return this.heldBytes;
  }

  /**
   * The record of a revision, decoded: a bad record is a result (unreadable, with why); a
   * revision that could not be fetched throws FetchError.
   */
  async read(ref: RevisionRef, signal?: AbortSignal): Promise<DecodeResult> {
    const key = objectVersion(ref);
    const cached = this.cache.get(key);
    if (cached) return cached.result;
    return this.keep(key, await this.fetchAndDecode(ref, signal));
  }

  /** Keeps a decoded record within the bound on what records kept take together. */
  private keep(key: string, decoded: DecodeResult): DecodeResult {
    const bytes = decoded.ok ? decoded.heldBytes : 0;
    if (this.heldBytes + bytes > this.maxHeldBytes) {
      // Not kept, and kept as refused: reading it again each scan would cost as much as keeping it.
      const refused: DecodeResult = { ok: false, reason: "too_large", message: this.overBudget(bytes) };
      this.cache.set(key, { result: refused, bytes: 0 });
      return refused;
    }
    this.heldBytes += bytes;
    this.cache.set(key, { result: decoded, bytes });
    return decoded;
  }

  /**
   * The API kinds a revision's manifest and hooks use, without keeping its record: the older
   * revisions of a history are checked only for these, and a record kept takes far more memory.
   * A record that cannot be decoded gives why; one that cannot be fetched throws FetchError.
   */
  async apiKinds(ref: RevisionRef, signal?: AbortSignal): Promise<ApiKindsResult> {
    const key = objectVersion(ref);
    const record = this.cache.get(key)?.result;
    if (record) return toApiKinds(record);
    const cached = this.kinds.get(key);
    if (cached) return cached;
    const result = toApiKinds(await this.fetchAndDecode(ref, signal));
    this.kinds.set(key, result);
    return result;
  }

  /**
   * Lists, page by page, the stored records of each namespace where this scan will read many
   * (`refs`: every revision it will read, cached or not): one page of LIST_PAGE_RECORDS records
   * costs about what one GET does, so a cold scan makes a request per LIST_PAGE_RECORDS records,
   * not one per record. Each page is decoded as it arrives: the records a history reads whole
   * (each release's two newest and those labelled deployed) are kept as read() keeps them, the
   * older ones only for their API kinds. A list that fails changes nothing: what it did not
   * bring is fetched one by one when read.
   */
  async prefetch(refs: readonly RevisionRef[], signal?: AbortSignal): Promise<void> {
    const byCollection = groupBy(
      refs.filter((ref) => !this.known(objectVersion(ref))),
      (ref) => `${ref.storage}|${ref.namespace}`,
    );
    const worth = [...byCollection.values()].filter((wanted) => wanted.length >= LIST_AT_LEAST);
    // Every scan calls this; only a scan with something to list needs to know what is read whole.
    if (worth.length === 0) return;
    const whole = readWhole(refs);
    await mapLimit(worth, LISTS_AT_ONCE, async (wanted) => {
      try {
        await this.listAndDecode(wanted, whole, signal);
      } catch (error) {
        if (signal?.aborted) throw error;
      }
    });
  }

  private async listAndDecode(
    wanted: readonly RevisionRef[],
    whole: ReadonlySet<string>,
    signal?: AbortSignal,
  ): Promise<void> {
    const [first] = wanted;
    if (!first) return;
    const byVersion = new Map(wanted.map((ref) => [objectVersion(ref), ref]));
    const storage = STORAGE.find(({ driver }) => driver === first.storage);
    await this.client.listPages<StoredRecord>(
      storagePath(first.storage, first.namespace),
      `${first.storage}s`,
      {
        labelSelector: RELEASE_OWNER_SELECTOR,
        ...(storage?.fieldSelector && { fieldSelector: storage.fieldSelector }),
        pageSize: LIST_PAGE_RECORDS,
        ...(signal && { signal }),
      },
      async (items) => {
        for (const item of items) {
          const key = objectVersion(item.metadata);
          const ref = byVersion.get(key);
          if (!ref || this.known(key)) continue;
          const decoded = await this.decodeStored(ref, item.data?.release, signal);
          if (whole.has(key)) this.keep(key, decoded);
          else this.kinds.set(key, toApiKinds(decoded));
        }
      },
    );
  }

  /**
   * Forgets records of revisions that no longer exist (or changed). Call only with a complete
   * listing: a revision that could not be listed is not known gone. Once room is made, records
   * refused for lack of it are read again.
   */
  retain(refs: readonly RevisionRef[]): void {
    const live = new Set(refs.map(objectVersion));
    const before = this.heldBytes;
    for (const key of this.kinds.keys()) if (!live.has(key)) this.kinds.delete(key);
    for (const [key, entry] of this.cache) {
      if (live.has(key)) continue;
      this.cache.delete(key);
      this.heldBytes -= entry.bytes;
    }
    if (this.heldBytes < before)
      for (const [key, { result }] of this.cache)
        if (!result.ok && result.message.startsWith(NOT_KEPT)) this.cache.delete(key);
  }

  /**
   * Decodes one record at a time: decoding yields to the event loop, and records decoded side
   * by side would each hold their whole JSON (up to --release.max-decoded-bytes) at once.
   */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.decoding.then(work, work);
    this.decoding = run.catch(() => undefined);
    return run;
  }

  private async fetchAndDecode(ref: RevisionRef, signal?: AbortSignal): Promise<DecodeResult> {
    try {
      const object = await this.client.get<StoredRecord>(
        `${storagePath(ref.storage, ref.namespace)}/${encodeURIComponent(ref.objectName)}`,
        `${ref.storage}s`,
        signal,
      );
      return await this.decodeStored(ref, object.data?.release, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      const message = errorMessage(error);
      // Not a statement about the record, and not cached: the next scan tries again.
      throw new FetchError(`cannot fetch ${ref.namespace}/${ref.objectName}: ${message}`, { cause: error });
    }
  }

  /** Whether the revision is already decoded, whole or for its API kinds. */
  private known(key: string): boolean {
    return this.cache.has(key) || this.kinds.has(key);
  }

  /** Decodes a record as stored (one at a time), refusing one that names another release. */
  private async decodeStored(ref: RevisionRef, data: string | undefined, signal?: AbortSignal) {
    return storedWhereItSays(ref, await this.oneAtATime(() => this.decode(ref, data, signal)));
  }

  private overBudget(bytes: number): string {
    const mib = (value: number) => `${(value / 2 ** 20).toFixed(1)} MiB`;
    return `${NOT_KEPT}: it takes ${mib(bytes)} decoded, and the records kept already take ${mib(this.heldBytes)} of the ${mib(this.maxHeldBytes)} allowed (half of --scan.heap-limit)`;
  }

  private async decode(
    ref: RevisionRef,
    data: string | undefined,
    signal?: AbortSignal,
  ): Promise<DecodeResult> {
    this.decodes++;
    if (data === undefined)
      return { ok: false, reason: "schema", message: `${ref.objectName} has no data key "release"` };
    // The Secret API base64-encodes data values once more; ConfigMap data is Helm's text as is.
    let encoded = data;
    if (ref.storage === "secret") {
      const bytes = decodeBase64(data);
      if (!bytes) return { ok: false, reason: "base64", message: "Secret data is not valid base64" };
      encoded = bytes.toString("latin1");
    }
    return decodeRelease(encoded, this.limits, signal);
  }
}

const NOT_KEPT = "decoded but not kept";

/** A namespace where a scan reads at least this many records not yet known is listed (prefetch). */
export const LIST_AT_LEAST = 16;
/** Records per page of such a list: a page holds at most this many (each at most 1 MiB, etcd's limit). */
export const LIST_PAGE_RECORDS = 20;
/**
 * Lists of records run side by side: a page may hold LIST_PAGE_RECORDS MiB of anyone's records,
 * so two bound what is in flight at 40 MiB (eight took 3% less time at 1000 releases).
 */
const LISTS_AT_ONCE = 2;

/** The API kinds a revision uses, or why its record could not be decoded. */
export type ApiKindsResult = { readonly kinds: readonly ApiKind[] } | { readonly unreadable: string };

function toApiKinds(result: DecodeResult): ApiKindsResult {
  return result.ok
    ? { kinds: apiKindsOf(result.record) }
    : { unreadable: `${result.reason}: ${result.message}` };
}

/**
 * The revisions a history reads whole: each release's two newest (the latest and the rollback
 * target) and those labelled deployed (the base drift compares against). The others are read
 * for their API kinds only.
 */
function readWhole(refs: readonly RevisionRef[]): ReadonlySet<string> {
  const whole = new Set<string>();
  for (const revisions of groupBy(refs, (ref) => `${ref.storage}|${ref.namespace}|${ref.release}`).values()) {
    const newestFirst = [...revisions].sort((a, b) => b.revision - a.revision);
    for (const ref of newestFirst.slice(0, 2)) whole.add(objectVersion(ref));
    for (const ref of revisions) if (ref.status === "deployed") whole.add(objectVersion(ref));
  }
  return whole;
}

/** A release record as the API returns it: Helm's text under data.release. */
type StoredRecord = KubeObject & { data?: Record<string, string> };

function storagePath(storage: StorageDriver, namespace: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/${storage}s`;
}

/**
 * Helm stores a release's records in its namespace, under its name. A record that names
 * another release or namespace than where it is stored was not written by Helm: believing it
 * would let anyone who may create a Secret in one namespace pass for a release of another.
 */
function storedWhereItSays(ref: RevisionRef, result: DecodeResult): DecodeResult {
  if (!result.ok) return result;
  const { name, namespace } = result.record;
  if (name === ref.release && namespace === ref.namespace) return result;
  return {
    ok: false,
    reason: "schema",
    message: `the record names release ${JSON.stringify(name)} in namespace ${JSON.stringify(namespace)} but is stored as ${JSON.stringify(ref.release)} in ${JSON.stringify(ref.namespace)}`,
  };
}
