/**
 * Rollback readiness as the analysis reports it, for tests of what the outputs make of it: a
 * blocked rollback, a ready one that reverts hand-made changes, and a release stuck on its first
 * install. Messages are worded as Helm words them (docs/rollback.md).
 */
import type { ReadinessReport } from "../../src/analysis/rollback/types.ts";
import { analyzeStatus } from "../../src/analysis/status.ts";
import { decodeReleaseNow } from "../../src/helm/decode.ts";
import type { ReleaseStatus } from "../../src/helm/release.ts";
import type { ReleaseFindings } from "../../src/report/snapshot.ts";
import { encodeRelease, releaseRecord } from "./encode.ts";
import { FIXTURE_TIME } from "./snapshot.ts";

/** Release `name` in namespace shop, one revision per status (the last is the latest), with its readiness when given. */
export function shopRelease(
  name: string,
  statuses: readonly ReleaseStatus[],
  readiness?: ReadinessReport,
): ReleaseFindings {
  const status = analyzeStatus({
    namespace: "shop",
    release: name,
    storage: "secret",
    revisions: statuses.map((state, index) => ({ revision: index + 1, status: state })),
    latest: decodeReleaseNow(
      encodeRelease(
        releaseRecord({ name, namespace: "shop", revision: statuses.length, status: statuses.at(-1) }),
      ),
    ),
  });
  return readiness ? { ...status, readiness } : status;
}

const NOT_BLOCKED = { blocked: false, blockers: [] } as const;

/** Helm 4 server-side apply back to revision 1: two conflicts with kubectl, and one object not read. */
export const BLOCKED_ROLLBACK: ReadinessReport = {
  rollback: {
    targetRevision: 1,
    targetStatus: "superseded",
    applyMethod: "ssa",
    ready: false,
    blockers: [
      {
        reason: "ssa_conflict",
        object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web" },
        message:
          'conflict occurred while applying object shop/web apps/v1, Kind=Deployment: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
        leaves: "failed",
      },
      {
        reason: "ssa_conflict",
        object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "settings" },
        message:
          'conflict occurred while applying object shop/settings /v1, Kind=ConfigMap: Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: .data.mode',
        leaves: "failed",
      },
      {
        reason: "unchecked",
        object: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "shop", name: "web" },
        message: "poddisruptionbudgets.policy is forbidden: cannot list in namespace shop",
      },
    ],
    reverted: [],
    takenOver: [
      {
        object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "shared" },
        owner: "shop/other",
      },
    ],
  },
  upgrade: NOT_BLOCKED,
  unservedApiRevisions: [],
};

/** Client-side back to revision 2: it works, and sets three hand-made values back. */
export const READY_ROLLBACK: ReadinessReport = {
  rollback: {
    targetRevision: 2,
    targetStatus: "superseded",
    applyMethod: "csa",
    ready: true,
    blockers: [],
    reverted: [
      {
        object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "search" },
        path: "spec.replicas",
        managers: ["kubectl"],
      },
      {
        object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "search" },
        path: 'spec.template.spec.containers[name="search"].image',
        managers: ["kubectl-edit"],
      },
      {
        object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "search" },
        path: "data.mode",
        managers: [],
      },
    ],
    takenOver: [],
  },
  upgrade: NOT_BLOCKED,
  unservedApiRevisions: [1],
};

/** Since when STUCK_INSTALL has been pending. */
export const STUCK_SINCE = new Date(FIXTURE_TIME.getTime() - 45 * 60_000);

/** Revision 1 stuck pending-install: nothing to roll back to, and upgrades refused. */
export const STUCK_INSTALL: ReadinessReport = {
  rollback: {
    ready: false,
    blockers: [{ reason: "no_target", message: "release has no 0 version", leaves: "nothing" }],
    reverted: [],
    takenOver: [],
  },
  upgrade: {
    blocked: true,
    blockers: [
      {
        reason: "pending",
        message: "another operation (install/upgrade/rollback) is in progress",
        since: STUCK_SINCE,
      },
    ],
  },
  unservedApiRevisions: [],
};
