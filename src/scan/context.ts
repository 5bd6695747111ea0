/**
 * What a scan reads with and remembers across scans, set up once (connect.ts for the
 * commands; tests set it up with their own client).
 */
import type { DriftOptions } from "../analysis/drift/drift.ts";
import { OutcomeMemo } from "../analysis/drift/outcome-memo.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Logger } from "../log/logger.ts";
import { Collections } from "../read/collections.ts";
import { Discovery } from "../read/discovery.ts";
import type { NamespaceScope } from "../read/namespaces.ts";
import { NO_RELEASE_FILTER, type ReleaseFilter } from "../model/release-filter.ts";
import { RevisionReader } from "../read/release-storage.ts";
import { GenerationalMemo } from "../util/generational-memo.ts";
import type { Examined } from "./collectors/rollback.ts";
import { FirstSeen } from "./state/first-seen.ts";
import { ReleaseMemory } from "./state/release-memory.ts";

export interface ScanContext {
  readonly client: KubeClient;
  /** Listed once, then kept current by watches (or listed on every read, for a one-shot scan). */
  readonly collections: Collections;
  readonly reader: RevisionReader;
  readonly discovery: Discovery;
  readonly scope: NamespaceScope;
  /** Which releases of those namespaces are in scope, decided at the start of each scan. */
  readonly releaseFilter: ReleaseFilter;
  readonly concurrency: number;
  readonly driftOptions: DriftOptions;
  /** Deletion older than this, with finalizers left, counts as stuck. */
  readonly terminatingAfterMs: number;
  readonly memory: ScanMemory;
  readonly logger: Logger;
  /** Set for `diagnose`: the scan covers this one release only, and reads it in full. */
  readonly focus?: ScanFocus;
  /** Set per scan: its timeout, or shutdown. */
  readonly signal?: AbortSignal;
}

/** What scans remember of each other, each piece for one concern. */
export interface ScanMemory {
  /** Each object's drift outcome by what decides it. */
  readonly outcomes: OutcomeMemo;
  /** When drift the cluster keeps no date for was first seen. */
  readonly firstSeen: FirstSeen;
  /** The last results of each release, served (stale) while a scan cannot see it. */
  readonly releases: ReleaseMemory;
  /** What applying each rollback target to each live object would meet, by what decides it. */
  readonly examinations: GenerationalMemo<Examined>;
}

/** One release a scan is about (`diagnose`): only its records, its kinds, its hooks are read. */
export interface ScanFocus {
  readonly release: string;
  /** The revision to check a rollback to (`helm rollback <release> <N>`); absent: a bare rollback's. */
  readonly rollbackTarget?: number;
}

export interface ScanSetup {
  readonly client: KubeClient;
  readonly scope: NamespaceScope;
  readonly releaseFilter?: ReleaseFilter;
  /** A long-running server keeps what it read current with watches; a one-shot scan lists. */
  readonly watch: boolean;
  /** The server ends each watch after about this long (default a minute). */
  readonly watchTimeoutSeconds?: number;
  readonly concurrency: number;
  readonly driftOptions: DriftOptions;
  readonly maxDecodedBytes: number;
  /** Most the decoded records kept may take together. */
  readonly maxHeldBytes?: number;
  readonly terminatingAfterMs: number;
  readonly logger: Logger;
  readonly focus?: ScanFocus;
}

export function createScanContext(setup: ScanSetup): ScanContext {
  const { client, watch, logger } = setup;
  return {
    client,
    collections: new Collections(client, {
      watch,
      logger,
      ...(setup.watchTimeoutSeconds !== undefined && { watchTimeoutSeconds: setup.watchTimeoutSeconds }),
    }),
    reader: new RevisionReader(client, { maxDecodedBytes: setup.maxDecodedBytes }, setup.maxHeldBytes),
    discovery: new Discovery(client),
    scope: setup.scope,
    releaseFilter: setup.releaseFilter ?? NO_RELEASE_FILTER,
    concurrency: setup.concurrency,
    driftOptions: setup.driftOptions,
    terminatingAfterMs: setup.terminatingAfterMs,
    memory: {
      outcomes: new OutcomeMemo(),
      firstSeen: new FirstSeen(),
      releases: new ReleaseMemory(),
      examinations: new GenerationalMemo(),
    },
    logger,
    ...(setup.focus && { focus: setup.focus }),
  };
}
