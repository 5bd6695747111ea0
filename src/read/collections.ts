/**
 * The collections a scan reads, kept current between scans by watches, as client-go's
 * informers do: each collection is listed once, then a WATCH from that list's version
 * streams only what changes. A scan of an unchanged cluster so reads nothing again, and
 * its API cost grows with the number of kinds and of changes, not of objects.
 *
 * Each collection keeps only what its reader asks for (`keep`), so memory holds the
 * few fields an analysis uses, not whole objects. A watch that fails (RBAC revoked,
 * connection lost, version too old) leaves its collection stale: the next scan lists it
 * again and, if that fails too, reports the error, never the old contents as current.
 */
import {
  KubeApiError,
  objectVersion,
  type KubeClient,
  type KubeObject,
  type WatchEvent,
} from "../kube/client.ts";
import type { Logger } from "../log/logger.ts";

export interface CollectionSpec<T> {
  /** Names what `keep` makes of the objects: two readers of one path keep different things. */
  readonly purpose: string;
  readonly path: string;
  readonly resource: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** List and watch PartialObjectMetadata: names, labels and annotations, never data. */
  readonly metadataOnly?: boolean;
  /**
   * What to keep of an object; undefined drops it. Kept as long as the collection watches:
   * make it at module level, since a closure made inside a scan keeps that scan's whole
   * scope alive with it.
   */
  readonly keep: (object: KubeObject) => T | undefined;
}

export interface CollectionsOptions {
  /** Keep collections current with watches; false lists on every read (a one-shot scan). */
  readonly watch: boolean;
  /** The server ends each watch after about this long; it is then resumed from where it ended. */
  readonly watchTimeoutSeconds?: number;
  readonly logger?: Logger;
}

const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;

export function specKey(spec: CollectionSpec<unknown>): string {
  const query = new URLSearchParams();
  if (spec.labelSelector) query.set("labelSelector", spec.labelSelector);
  if (spec.fieldSelector) query.set("fieldSelector", spec.fieldSelector);
  if (spec.metadataOnly) query.set("as", "PartialObjectMetadata");
  return `${spec.purpose} ${spec.path}?${query.toString()}`;
}

export function objectKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

/** One listed-then-watched collection. */
export class WatchedCollection<T> {
  private readonly client: KubeClient;
  private readonly spec: CollectionSpec<T>;
  private readonly options: CollectionsOptions;
  private items = new Map<string, T>();
  private resourceVersion = "";
  private synced = false;
  private syncing: Promise<void> | undefined;
  private watchAbort: AbortController | undefined;
  private stopped = false;
  private lists = 0;

  constructor(client: KubeClient, spec: CollectionSpec<T>, options: CollectionsOptions) {
    this.client = client;
    this.spec = spec;
    this.options = options;
  }

  /** How many times the collection was listed: once, unless its watch broke. */
  get listCount(): number {
    return this.lists;
  }

  /**
   * The collection as it is now: the watched copy while its watch runs, else a list made
   * now. Throws when the list fails (forbidden, not served, API error).
   */
  async current(signal?: AbortSignal): Promise<ReadonlyMap<string, T>> {
    if (!this.synced || !this.options.watch) {
      this.syncing ??= this.sync(signal).finally(() => {
        this.syncing = undefined;
      });
      await this.syncing;
    }
    // A copy: the watch goes on changing the live map while the scan reads this one.
    return new Map(this.items);
  }

  stop(): void {
    this.stopped = true;
    this.synced = false;
    this.watchAbort?.abort();
    this.items = new Map();
  }

  private async sync(signal: AbortSignal | undefined): Promise<void> {
    this.watchAbort?.abort();
    this.lists++;
    const kept = new Map<string, T>();
    const resourceVersion = await this.client.listPages(
      this.spec.path,
      this.spec.resource,
      {
        ...this.selectors(),
        // No resourceVersion: a consistent list, which the apiserver pages (resourceVersion=0
        // ignores the limit and sends the whole collection at once, to be parsed whole). The
        // watch below continues from the list's version.
        ...(signal && { signal }),
      },
      (items) => {
        for (const item of items) {
          const value = this.spec.keep(item);
          if (value !== undefined) kept.set(objectKey(item), value);
        }
      },
    );
    this.items = kept;
    this.resourceVersion = resourceVersion;
    if (!this.options.watch || this.stopped) return;
    this.synced = true;
    this.watchAbort = new AbortController();
    void this.watchLoop(this.watchAbort.signal);
  }

  private selectors() {
    return {
      ...(this.spec.labelSelector && { labelSelector: this.spec.labelSelector }),
      ...(this.spec.fieldSelector && { fieldSelector: this.spec.fieldSelector }),
      ...(this.spec.metadataOnly && { metadataOnly: true }),
    };
  }

  /** Watches until stopped or until the watch fails; a failure leaves the collection to be listed again. */
  private async watchLoop(signal: AbortSignal): Promise<void> {
    const timeout = this.options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
    while (!signal.aborted) {
      try {
        await this.client.watch(
          this.spec.path,
          this.spec.resource,
          {
            ...this.selectors(),
            resourceVersion: this.resourceVersion,
            // Jittered, so the watches of many kinds do not all end and resume together.
            timeoutSeconds: Math.round(timeout * (0.9 + Math.random() * 0.2)),
            signal,
          },
          (event) => {
            this.apply(event);
          },
        );
      } catch (error) {
        if (this.stopped || signal !== this.watchAbort?.signal) return; // stopped, or replaced by a new list
        this.synced = false;
        this.options.logger?.warn(
          {
            collection: specKey(this.spec),
            err: error instanceof Error ? error.message : String(error),
            gone: error instanceof KubeApiError && error.isGone,
          },
          "watch ended with an error; the next scan lists the collection again",
        );
        return;
      }
    }
  }

  private apply(event: WatchEvent): void {
    const version = event.object.metadata.resourceVersion;
    if (version) this.resourceVersion = version;
    if (event.type === "BOOKMARK") return;
    const key = objectKey(event.object);
    const value = event.type === "DELETED" ? undefined : this.spec.keep(event.object);
    if (value === undefined) this.items.delete(key);
    else this.items.set(key, value);
  }
}

/**
 * All collections of the process, by spec. A collection no scan asked for in the last
 * scan is stopped, so a kind that leaves every release stops costing a watch.
 */
export class Collections {
  private readonly client: KubeClient;
  private readonly options: CollectionsOptions;
  private readonly byKey = new Map<string, WatchedCollection<unknown>>();
  private used = new Set<string>();
  private fetched = new Map<string, { version: string; object: KubeObject }>();
  private fetchedNow = new Map<string, { version: string; object: KubeObject }>();

  constructor(client: KubeClient, options: CollectionsOptions) {
    this.client = client;
    this.options = options;
  }

  /** Reads a collection: watched and kept, or listed now. */
  async read<T>(spec: CollectionSpec<T>, signal?: AbortSignal): Promise<ReadonlyMap<string, T>> {
    return this.collection(spec).current(signal);
  }

  /** Reads one spec at several paths (a kind in each scanned namespace): their union, by namespace/name. */
  async readPaths<T>(
    paths: readonly string[],
    spec: Omit<CollectionSpec<T>, "path">,
    signal?: AbortSignal,
  ): Promise<ReadonlyMap<string, T>> {
    const union = new Map<string, T>();
    for (const path of paths)
      for (const [key, value] of await this.read({ ...spec, path }, signal)) union.set(key, value);
    return union;
  }

  collection<T>(spec: CollectionSpec<T>): WatchedCollection<T> {
    const key = specKey(spec);
    this.used.add(key);
    let collection = this.byKey.get(key) as WatchedCollection<T> | undefined;
    if (!collection) {
      collection = new WatchedCollection(this.client, spec, this.options);
      this.byKey.set(key, collection);
    }
    return collection;
  }

  /**
   * GETs one object, or returns the copy read before if `version` (its uid/resourceVersion,
   * as a watched collection last saw it) is unchanged. Without a version it always GETs.
   */
  async getObject<T extends KubeObject>(
    path: string,
    resource: string,
    version: string | undefined,
    signal?: AbortSignal,
  ): Promise<T> {
    const before = this.fetchedNow.get(path) ?? this.fetched.get(path);
    if (version !== undefined && before?.version === version) {
      this.fetchedNow.set(path, before);
      return before.object as T;
    }
    const object = await this.client.get<T>(path, resource, signal);
    if (version !== undefined && this.options.watch)
      this.fetchedNow.set(path, {
        version: objectVersion(object.metadata),
        object,
      });
    return object;
  }

  /** Stops the collections not read since the previous call, and forgets objects not asked for; call once per scan. */
  sweep(): void {
    this.fetched = this.fetchedNow;
    this.fetchedNow = new Map();
    for (const [key, collection] of this.byKey) {
      if (this.used.has(key)) continue;
      collection.stop();
      this.byKey.delete(key);
    }
    this.used = new Set();
  }

  /** Lists made so far, over all collections (the bench and tests check watches hold). */
  get listCount(): number {
    let total = 0;
    for (const collection of this.byKey.values()) total += collection.listCount;
    return total;
  }

  close(): void {
    for (const collection of this.byKey.values()) collection.stop();
    this.byKey.clear();
  }
}
