/**
 * The rollback collector: would a bare `helm rollback` (and the next `helm upgrade`) succeed
 * now? Each release's target revision (Last - 1) is read from storage when the releases are
 * known, and its objects are examined during the drift collector's one read of the live
 * objects (RollbackExaminer): an object drift reads anyway costs nothing more, and an object
 * only the target declares joins that read. Then the release namespaces, the target's rollback
 * hook objects, the API kinds every stored revision uses, and the pure analysis
 * (analysis/rollback/readiness.ts).
 *
 * Whatever could not be read makes the release's rollback `unchecked`, never ready.
 */
import { bodyTextOf } from "../../helm/manifest.ts";
import { createHash } from "node:crypto";
import type { LiveLookup } from "../../analysis/drift/drift.ts";
import { examineObject } from "../../analysis/rollback/objects.ts";
import {
  analyzeReadiness,
  type HookObjectState,
  type LiveState,
  type ReadinessInput,
} from "../../analysis/rollback/readiness.ts";
import type { ReadinessReport } from "../../analysis/rollback/types.ts";
import {
  apiKindsOf,
  type ApiKind,
  type Hook,
  type ManifestObject,
  type ReleaseRecord,
} from "../../helm/release.ts";
import { RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION } from "../../helm/vocabulary.ts";
import { kindKey, objectName, refKey, releaseKey, resourceRef, type ResourceRef } from "../../model/refs.ts";
import { readHookObjects } from "../../read/hook-objects.ts";
import { readNamespaceStates, type NamespaceState } from "../../read/namespace-states.ts";
import { inScope } from "../../read/namespaces.ts";
import { FetchError, type RevisionRef } from "../../read/release-storage.ts";
import { errorMessage } from "../../util/errors.ts";
import { isObject } from "../../util/object.ts";
import { mapLimit } from "../../util/pool.ts";
import type { Collector } from "../collector.ts";
import type { ScanContext } from "../context.ts";
import type { LiveExaminer } from "../examiner.ts";
import type { Findings, ReadinessFindings, ReleaseHistory } from "../findings.ts";

export const rollbackCollector: Collector = {
  name: "rollback",
  examiner: (context, found) => RollbackExaminer.prepare(context, found.releases.histories),
  run: async (context, found, errors) => ({ readiness: await collectReadiness(context, found, errors) }),
};

/** What an examination of a live object keeps: all the analysis needs of it. */
export type Examined = Extract<LiveState, { state: "examined" }>;

/** One release's rollback, as read before the live objects are. */
interface Rollback {
  readonly history: ReleaseHistory;
  readonly lastRef: RevisionRef;
  readonly last: ReleaseRecord | undefined;
  /** Absent when no revision Last - 1 is stored. */
  readonly target?: { readonly ref: RevisionRef } & (
    { readonly record: ReleaseRecord } | { readonly unreadable: string }
  );
}

/** One object of a target to examine: what decides its examination, but the live object. */
interface Check {
  /**
   * The target's and Last's manifests of the object, and the apply method. By content, not by
   * revision: a new revision that declares the object alike (a failed upgrade, most objects of
   * any upgrade) needs no new examination, which would read the object again.
   */
  readonly decidedBy: string;
  readonly target: ManifestObject;
  readonly last?: ManifestObject;
  readonly applyMethod: "ssa" | "csa";
}

/**
 * Examines each rollback target's objects as the drift collector reads them, and keeps the
 * outcome across scans by what decides it (context.memory.examinations): an object whose
 * version, target and Last are unchanged is neither read again nor examined again.
 */
export class RollbackExaminer implements LiveExaminer {
  readonly rollbacks: readonly Rollback[];
  /** Why targets could not be read this scan: the collector reports them. */
  readonly errors: readonly string[];
  private readonly context: ScanContext;
  private readonly checks = new Map<string, Check[]>();
  private readonly refList: ResourceRef[] = [];
  private readonly settled = new Map<string, LiveLookup>();

  private constructor(context: ScanContext, rollbacks: readonly Rollback[], errors: readonly string[]) {
    this.context = context;
    this.rollbacks = rollbacks;
    this.errors = errors;
    for (const rollback of rollbacks) {
      const { target, last } = rollback;
      if (!target || !("record" in target)) continue;
      const lastObjects = new Map(
        (last?.manifest ?? []).map((object) => [this.keyOf(object, rollback), object]),
      );
      for (const object of target.record.manifest) {
        if (context.discovery.served(object.apiVersion, object.kind) === false) continue;
        const ref = this.refOf(object, rollback);
        const key = refKey(ref);
        const lastObject = lastObjects.get(key);
        const check: Check = {
          decidedBy: `${contentKey(object)}|${lastObject ? contentKey(lastObject) : "-"}|${target.record.applyMethod}`,
          target: object,
          ...(lastObject && { last: lastObject }),
          applyMethod: target.record.applyMethod,
        };
        const checks = this.checks.get(key);
        if (checks) checks.push(check);
        else {
          this.checks.set(key, [check]);
          this.refList.push(ref);
        }
      }
    }
  }

  /** Reads each release's target record, and learns the kinds the targets use. */
  static async prepare(
    context: ScanContext,
    histories: readonly ReleaseHistory[],
  ): Promise<RollbackExaminer> {
    const errors: string[] = [];
    const rollbacks = await mapLimit([...histories], context.concurrency, (history) =>
      readTarget(context, history, errors),
    );
    await context.discovery.ensureKnown(
      rollbacks.flatMap(({ target }) => (target && "record" in target ? target.record.manifest : [])),
      context.signal,
    );
    return new RollbackExaminer(context, rollbacks, errors);
  }

  refs(): readonly ResourceRef[] {
    return this.refList;
  }

  knows(key: string, liveVersion: string): boolean {
    return (this.checks.get(key) ?? []).every((check) =>
      this.context.memory.examinations.has(memoKey(check, key, liveVersion)),
    );
  }

  examine(key: string, live: Readonly<Record<string, unknown>>, liveVersion: string): void {
    const owner = ownerOf(live);
    for (const check of this.checks.get(key) ?? []) {
      const examination = examineObject(
        {
          apiVersion: check.target.apiVersion,
          kind: check.target.kind,
          name: check.target.name,
          target: check.target.body,
          ...(check.last && { last: check.last.body }),
        },
        live,
        check.applyMethod,
        this.context.driftOptions.helmManagers,
      );
      this.context.memory.examinations.set(memoKey(check, key, liveVersion), {
        state: "examined",
        examination,
        ...(owner && { owner }),
      });
    }
  }

  settle(key: string, lookup: LiveLookup): void {
    this.settled.set(key, lookup);
  }

  /** How the read left one object of a release's target. */
  liveState(rollback: Rollback, object: ManifestObject): LiveState {
    const key = this.keyOf(object, rollback);
    const lookup = this.settled.get(key);
    const check = (this.checks.get(key) ?? []).find((candidate) => candidate.target === object);
    if (!lookup || !check) return { state: "unchecked", message: `${objectName(object)} was not read` };
    switch (lookup.state) {
      case "missing":
        return { state: "missing" };
      case "unchecked":
        return { state: "unchecked", message: lookup.message };
      case "found":
      case "known": {
        const examined =
          lookup.version === undefined
            ? undefined
            : this.context.memory.examinations.get(memoKey(check, key, lookup.version));
        return examined ?? { state: "unchecked", message: `${objectName(object)} was not examined` };
      }
    }
  }

  private refOf(object: ManifestObject, rollback: Rollback): ResourceRef {
    const namespaced = this.context.discovery.resolve(object.apiVersion, object.kind)?.namespaced;
    return resourceRef(object, rollback.history.status.namespace, namespaced);
  }

  private keyOf(object: ManifestObject, rollback: Rollback): string {
    return refKey(this.refOf(object, rollback));
  }
}

function memoKey(check: Check, key: string, liveVersion: string): string {
  return `${check.decidedBy}|${key}|${liveVersion}`;
}

/** Records are kept decoded across scans, so each manifest object is hashed once. */
const contentKeys = new WeakMap<ManifestObject, string>();

function contentKey(object: ManifestObject): string {
  let key = contentKeys.get(object);
  if (key === undefined) {
    key = createHash("sha256").update(bodyTextOf(object)).digest("base64url").slice(0, 22);
    contentKeys.set(object, key);
  }
  return key;
}

/** The release an object's annotations name, `namespace/release`. */
function ownerOf(live: Readonly<Record<string, unknown>>): string | undefined {
  const metadata = isObject(live.metadata) ? live.metadata : {};
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
  const name = annotations[RELEASE_NAME_ANNOTATION];
  const namespace = annotations[RELEASE_NAMESPACE_ANNOTATION];
  return typeof name === "string" && typeof namespace === "string" ? `${namespace}/${name}` : undefined;
}

/**
 * The revision a bare `helm rollback` goes back to: the highest revision number minus one; or
 * the one `diagnose --revision N` names (`helm rollback <release> <N>`).
 */
async function readTarget(
  context: ScanContext,
  history: ReleaseHistory,
  errors: string[],
): Promise<Rollback> {
  const lastRef = history.revisions.reduce((a, b) => (b.revision > a.revision ? b : a));
  const last = history.latest.ok ? history.latest.record : undefined;
  const targetRevision = context.focus?.rollbackTarget ?? lastRef.revision - 1;
  const ref = history.revisions.find((candidate) => candidate.revision === targetRevision);
  if (!ref) return { history, lastRef, last };
  try {
    const result = await context.reader.read(ref, context.signal);
    return {
      history,
      lastRef,
      last,
      target: result.ok
        ? { ref, record: result.record }
        : { ref, unreadable: `${result.reason}: ${result.message}` },
    };
  } catch (error) {
    if (!(error instanceof FetchError)) throw error;
    errors.push(error.message);
    return { history, lastRef, last, target: { ref, unreadable: error.message } };
  }
}

async function collectReadiness(
  context: ScanContext,
  found: Findings,
  errors: string[],
): Promise<ReadinessFindings> {
  const byRelease = new Map<string, ReadinessReport>();
  const examiner = found.examiners?.get(rollbackCollector.name);
  if (!(examiner instanceof RollbackExaminer)) {
    // Not one release's rollback is known: each says so, rather than vanishing from what is served.
    errors.push("the rollback targets could not be read");
    for (const history of found.releases.histories)
      byRelease.set(releaseKey(history.status), uncheckedReadiness("the rollback target could not be read"));
    return { byRelease };
  }
  errors.push(...examiner.errors);
  const { rollbacks } = examiner;
  const namespaces = await namespaceStates(context, rollbacks, errors);
  const hooks = await hookObjects(context, rollbacks, errors);
  const kinds = await revisionKinds(context, rollbacks, errors);
  await context.discovery.ensureKnown(
    [...kinds.values()].flatMap((byRevision) => [...byRevision.values()].flat()),
    context.signal,
  );
  for (const rollback of rollbacks) {
    const { history } = rollback;
    const key = releaseKey(history.status);
    byRelease.set(
      key,
      analyzeReadiness(
        readinessInput(context, rollback, examiner, {
          namespaceState: namespaces.get(history.status.namespace) ?? "unknown",
          hookObject: hooks,
          revisionKinds: kinds.get(key) ?? new Map(),
        }),
      ),
    );
  }
  if (found.drift?.complete && errors.length === 0) context.memory.examinations.sweep();
  return { byRelease };
}

function readinessInput(
  context: ScanContext,
  rollback: Rollback,
  examiner: RollbackExaminer,
  read: Pick<ReadinessInput, "namespaceState" | "hookObject" | "revisionKinds">,
): ReadinessInput {
  const { history, last, target } = rollback;
  const { discovery } = context;
  return {
    release: history.status.release,
    namespace: history.status.namespace,
    storage: rollback.lastRef.storage,
    revisions: history.revisions.map((ref) => {
      // The latest record says when its operation started; a label only when it was written.
      const updated =
        ref === rollback.lastRef && last?.lastDeployed
          ? last.lastDeployed
          : (ref.modifiedAt ?? ref.createdAt);
      return { revision: ref.revision, status: ref.status, ...(updated && { updated }) };
    }),
    last,
    ...(context.focus?.rollbackTarget !== undefined && { targetRevision: context.focus.rollbackTarget }),
    ...(target && {
      target: "record" in target ? { record: target.record } : { unreadable: target.unreadable },
    }),
    upgradeBase: upgradeBase(history),
    served: (apiVersion, kind) => discovery.served(apiVersion, kind),
    namespaced: (apiVersion, kind) => discovery.resolve(apiVersion, kind)?.namespaced,
    live: (object) => examiner.liveState(rollback, object),
    helmManagers: context.driftOptions.helmManagers,
    ...read,
  };
}

/**
 * The revision `helm upgrade` starts from: the deployed one; else the latest when it failed or
 * was superseded; else none ("has no deployed releases"). Unknown when its record is unreadable.
 */
function upgradeBase(history: ReleaseHistory): ReadinessInput["upgradeBase"] {
  const { base, latest } = history;
  if (!base.result.ok || !latest.ok) return "unknown";
  if (base.result.record.status === "deployed") return base.result.record;
  if (latest.record.status === "failed" || latest.record.status === "superseded") return latest.record;
  return undefined;
}

/** A readiness no part of which could be checked. */
function uncheckedReadiness(message: string): ReadinessReport {
  return {
    rollback: { ready: false, blockers: [{ reason: "unchecked", message }], reverted: [], takenOver: [] },
    upgrade: { blocked: false, blockers: [] },
    unservedApiRevisions: [],
  };
}

async function namespaceStates(
  context: ScanContext,
  rollbacks: readonly Rollback[],
  errors: string[],
): Promise<ReadonlyMap<string, NamespaceState>> {
  const namespaces = [...new Set(rollbacks.map(({ history }) => history.status.namespace))].sort();
  const states = await readNamespaceStates(
    context.collections,
    context.client,
    namespaces,
    context.concurrency,
    context.signal,
  );
  const unknown = namespaces.filter(
    (namespace) => states.get(namespace) !== "active" && states.get(namespace) !== "terminating",
  );
  if (unknown.length > 0)
    errors.push(`cannot tell whether these namespaces are being deleted: ${unknown.join(", ")}`);
  return states;
}

/** The live objects of the targets' rollback hooks, read per kind (the hooks collector's collections). */
async function hookObjects(
  context: ScanContext,
  rollbacks: readonly Rollback[],
  errors: string[],
): Promise<(hook: Hook, namespace: string) => HookObjectState> {
  const kinds = new Map<string, ApiKind>();
  for (const { target } of rollbacks)
    if (target && "record" in target)
      for (const hook of target.record.hooks)
        if (hook.apiVersion && isRollbackHook(hook))
          kinds.set(kindKey({ apiVersion: hook.apiVersion, kind: hook.kind }), {
            apiVersion: hook.apiVersion,
            kind: hook.kind,
          });
  const found = new Map<string, HookObjectState>();
  const failed = new Map<string, string>();
  await mapLimit([...kinds], context.concurrency, async ([key, kind]) => {
    try {
      const read = await readHookObjects(
        context.collections,
        context.discovery,
        context.scope,
        [kind],
        1,
        context.signal,
      );
      for (const message of read.errors) failed.set(key, message);
      for (const object of read.objects)
        found.set(`${key}|${object.namespace ?? ""}|${object.name}`, { state: "found", object });
    } catch (error) {
      if (context.signal?.aborted) throw error;
      failed.set(key, errorMessage(error));
    }
  });
  errors.push(...failed.values());
  return (hook, namespace) => {
    const key = kindKey({ apiVersion: hook.apiVersion ?? "", kind: hook.kind });
    const why = failed.get(key);
    if (why) return { state: "unchecked", message: why };
    if (!inScope(context.scope, namespace))
      return {
        state: "unchecked",
        message: `namespace ${namespace} is outside the namespaces this exporter scans`,
      };
    return (
      found.get(`${key}|${namespace}|${hook.name}`) ??
      found.get(`${key}||${hook.name}`) ?? { state: "absent" }
    );
  };
}

/** A revision's record the scan has read already: Last's, the target's, or the deployed one's. */
function recordAtHand(
  ref: RevisionRef,
  history: ReleaseHistory,
  last: ReleaseRecord | undefined,
  target: Rollback["target"],
): ReleaseRecord | undefined {
  if (ref.revision === last?.revision) return last;
  if (target && "record" in target && target.ref.revision === ref.revision) return target.record;
  const base = history.base.result;
  return base.ok && base.record.revision === ref.revision ? base.record : undefined;
}

function isRollbackHook(hook: Hook): boolean {
  return hook.events.includes("pre-rollback") || hook.events.includes("post-rollback");
}

/**
 * The API kinds each stored revision uses, by release and revision: Last's and the target's
 * from their records, older ones read for their kinds alone (not kept: see RevisionReader.apiKinds).
 * A revision that could not be read is left out: not checked, never "served".
 */
async function revisionKinds(
  context: ScanContext,
  rollbacks: readonly Rollback[],
  errors: string[],
): Promise<ReadonlyMap<string, ReadonlyMap<number, readonly ApiKind[]>>> {
  const byRelease = new Map<string, Map<number, readonly ApiKind[]>>();
  await mapLimit([...rollbacks], context.concurrency, async ({ history, last, target }) => {
    const kinds = new Map<number, readonly ApiKind[]>();
    byRelease.set(releaseKey(history.status), kinds);
    for (const ref of history.revisions) {
      const record = recordAtHand(ref, history, last, target);
      if (record) {
        kinds.set(ref.revision, apiKindsOf(record));
        continue;
      }
      try {
        const result = await context.reader.apiKinds(ref, context.signal);
        if ("kinds" in result) kinds.set(ref.revision, result.kinds);
      } catch (error) {
        if (!(error instanceof FetchError)) throw error;
        errors.push(error.message);
      }
    }
  });
  return byRelease;
}
