/**
 * The collections a scan reads, kept current between scans by watches, as client-go's
 * informers do: each collection is listed once, then a WATCH from that list's version
 * streams only what changes. A scan of an unchanged cluster so reads nothing again, and
 * its API cost grows with the number of kinds and of changes, not of objects.
 *
 * Each collection keeps only what its reader asks for (`keep`), so memory holds the
 * few fields an analysis uses, not whole objects. A watch that fails (RBAC revoked,
 * version too old, retries exhausted) or goes silent (a black-holed connection: no event,
 * no bookmark, no byte for `staleAfterMs`) leaves its collection unsynced: the next read
 * lists it again and, if that fails too, reports the error, never the old contents as
 * current. A watch the server ends, or whose connection drops, is resumed from the last
 * resourceVersion seen, with backoff.
 */
import {
  failureOutcome,
  KubeApiError,
  KubeTimeoutError,
  objectVersion,
  type KubeClient,
  type KubeObject,
  type WatchEvent,
} from "../kube/client.ts";
import { retryDelayMs, wait } from "../kube/retry.ts";
import type { Logger } from "../log/logger.ts";
import { namespacedName } from "../model/refs.ts";
import { errorMessage } from "../util/errors.ts";

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
  /**
   * A watched collection not heard from for longer is not trusted: its watch is dead and the
   * next read lists it again. See DEFAULT_STALE_AFTER_MS.
   */
  readonly staleAfterMs?: number;
  readonly logger?: Logger;
}

/**
 * How long the server keeps each watch open (jittered ±10%) before the loop resumes it. One
 * minute, under DEFAULT_STALE_AFTER_MS: the end of a watch is the server talking too, so a
 * live watch is heard from at least this often even when no bookmark comes. (client-go's
 * reflectors use 5 to 10 minutes; resuming a watch from the watch cache costs the apiserver
 * little, and the exporter holds a few dozen.)
 */
const DEFAULT_WATCH_TIMEOUT_SECONDS = 60;
/**
 * 90 s: a watch that hears nothing (no event, no bookmark, no byte, no end) for longer is dead.
 * The apiserver's watch cache sends each watcher that asked for bookmarks one about every
 * minute (k8s.io/apiserver pkg/storage/cacher defaultBookmarkFrequency, and one 2 s before the
 * watch's deadline), measured at 59.6-61.6 s apart on the test control plane. But it sends
 * one only once its resourceVersion for that resource has moved past the watch's (cacheWatcher
 * .process), so a quiet watch can go longer: the first came after 120 s in a measurement.
 * Hence the one-minute watch timeout above, whose end is heard whatever the bookmarks do.
 * 90 s leaves 24 s over the longest jittered watch (66 s) and stays under the default scan
 * interval (2 minutes): the first scan that starts 90 s after the server was last heard lists
 * again, and in a black hole that list fails in the request timeout (30 s).
 */
export const DEFAULT_STALE_AFTER_MS = 90_000;

/** What a scan needs to know about a collection before it trusts it. */
export interface CollectionState {
  readonly key: string;
  readonly resource: string;
  readonly path: string;
  /** Listed, watched, and heard from within staleAfterMs: the copy is current. */
  readonly synced: boolean;
  /** When the server was last heard from (a list answered, a watch opened, an event, a bookmark, a byte); Date.now() ms. */
  readonly lastHeardAt: number | undefined;
}

export function specKey(spec: CollectionSpec<unknown>): string {
  const query = new URLSearchParams();
  if (spec.labelSelector) query.set("labelSelector", spec.labelSelector);
  if (spec.fieldSelector) query.set("fieldSelector", spec.fieldSelector);
  if (spec.metadataOnly) query.set("as", "PartialObjectMetadata");
  return `${spec.purpose} ${spec.path}?${query.toString()}`;
}

/** An object's place in its collection: namespace and name. */
function objectKey(object: KubeObject): string {
  return namespacedName(object.metadata.namespace, object.metadata.name);
}

/** One listed-then-watched collection. */
export class WatchedCollection<T> {
  private readonly client: KubeClient;
  private readonly spec: CollectionSpec<T>;
  private readonly options: CollectionsOptions;
  private items = new Map<string, T>();
  private resourceVersion = "";
  /** Listed, and the watch since has not failed. Trusted only while lastHeardAt is recent too. */
  private synced = false;
  private lastHeardAt: number | undefined;
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

  get state(): CollectionState {
    return {
      key: specKey(this.spec),
      resource: this.spec.resource,
      path: this.spec.path,
      synced: this.trusted(Date.now()),
      lastHeardAt: this.lastHeardAt,
    };
  }

  private get staleAfterMs(): number {
    return this.options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  }

  /** The watched copy can stand for the cluster: the watch has not failed and was heard from recently. */
  private trusted(now: number): boolean {
    return (
      this.options.watch &&
      this.synced &&
      this.lastHeardAt !== undefined &&
      now - this.lastHeardAt <= this.staleAfterMs
    );
  }

  /**
   * The collection as it is now: the watched copy while its watch is alive, else a list made
   * now. Throws when the list fails (forbidden, not served, API error, timeout).
   */
  async current(signal?: AbortSignal): Promise<ReadonlyMap<string, T>> {
    if (!this.trusted(Date.now())) {
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
    this.synced = false;
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
    this.heard();
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

  private heard(): void {
    this.lastHeardAt = Date.now();
  }

  /**
   * Watches until stopped. The server ending a watch (its timeout) resumes it at once; a
   * dropped connection, throttling or a server error resumes it after a backoff, as many
   * times as the client's retry policy allows in a row. Anything else (410 Gone, 403,
   * silence, retries exhausted) ends the loop and leaves the collection to be listed again.
   */
  private async watchLoop(signal: AbortSignal): Promise<void> {
    const timeout = this.options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_SECONDS;
    let retry = 0;
    while (!signal.aborted) {
      const started = performance.now();
      let events = 0;
      let failure: unknown;
      try {
        await this.client.watch(
          this.spec.path,
          this.spec.resource,
          {
            ...this.selectors(),
            resourceVersion: this.resourceVersion,
            // Jittered, so the watches of many kinds do not all end and resume together.
            timeoutSeconds: Math.round(timeout * (0.9 + Math.random() * 0.2)),
            idleTimeoutMs: this.staleAfterMs,
            onHeard: () => {
              this.heard();
            },
            signal,
          },
          (event) => {
            events++;
            retry = 0;
            this.apply(event);
          },
        );
        this.heard(); // the server ended it: the connection is alive
        // client-go's reflector: a watch closed within a second with nothing in it is a failure
        // (a proxy closing streams), or the loop would reopen it as fast as it can.
        if (events > 0 || performance.now() - started >= 1000) {
          retry = 0;
          continue;
        }
        // Retried as the dropped connection it amounts to.
        failure = Object.assign(new Error("very short watch: closed within a second with no event"), {
          code: "ECONNRESET",
        });
      } catch (error) {
        failure = error;
      }
      if (this.stopped || signal !== this.watchAbort?.signal) return; // stopped, or replaced by a new list
      if (!(await this.backOff(++retry, failure, signal))) return;
    }
  }

  /**
   * Waits before resuming a failed watch and says true; says false, leaving the collection
   * unsynced, when the failure is not one to retry or the retries are spent.
   */
  private async backOff(retry: number, failure: unknown, signal: AbortSignal): Promise<boolean> {
    const delay = retryDelayMs(this.client.retryPolicy, retry, failureOutcome(failure));
    if (delay === undefined) {
      this.synced = false;
      this.options.logger?.warn(
        {
          collection: specKey(this.spec),
          err: errorText(failure),
          gone: failure instanceof KubeApiError && failure.isGone,
          silent: failure instanceof KubeTimeoutError,
        },
        "watch ended with an error; the next scan lists the collection again",
      );
      return false;
    }
    this.options.logger?.debug(
      { collection: specKey(this.spec), err: errorText(failure), retry, delayMs: Math.round(delay) },
      "watch failed; resuming it from the last version seen",
    );
    try {
      await wait(delay, signal);
      return true;
    } catch {
      return false; // stopped, or replaced by a new list, while waiting
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

const errorText = (error: unknown) => errorMessage(error);

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

  /** Each collection's freshness, for the scanner to say how current what it reports is. */
  get states(): CollectionState[] {
    return [...this.byKey.values()].map((collection) => collection.state);
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
