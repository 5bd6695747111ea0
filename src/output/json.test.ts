import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReleaseFindings } from "../report/snapshot.ts";
import type { ReleaseJson } from "../../test/support/exporter.ts";
import {
  BLOCKED_ROLLBACK,
  READY_ROLLBACK,
  shopRelease,
  STUCK_INSTALL,
  STUCK_SINCE,
} from "../../test/support/readiness.ts";
import { testSnapshot } from "../../test/support/snapshot.ts";
import { toReleaseJson, toScanJson } from "./json.ts";

/** One release as `scan --output json` prints it: through JSON text and back. */
function printed(findings: ReleaseFindings): ReleaseJson {
  const [report] = testSnapshot({ releases: [findings] }).releases;
  assert.ok(report);
  return JSON.parse(JSON.stringify(toReleaseJson(report))) as ReleaseJson;
}

describe("release JSON: rollback readiness", () => {
  it("gives a blocked rollback's target, every blocker with Helm's error and what it leaves, and takeovers", () => {
    const json = printed(shopRelease("checkout", ["superseded", "deployed"], BLOCKED_ROLLBACK));
    assert.deepEqual(json.rollback, {
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
          note: null,
          leaves: "failed",
        },
        {
          reason: "ssa_conflict",
          object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "settings" },
          message:
            'conflict occurred while applying object shop/settings /v1, Kind=ConfigMap: Apply failed with 1 conflict: conflict with "kubectl-patch" using v1: .data.mode',
          note: null,
          leaves: "failed",
        },
        {
          reason: "unchecked",
          object: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "shop", name: "web" },
          message: "poddisruptionbudgets.policy is forbidden: cannot list in namespace shop",
          note: null,
          leaves: null,
        },
      ],
      reverted: [],
      takenOver: [
        {
          object: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "shared" },
          owner: "shop/other",
        },
      ],
    });
    assert.deepEqual(json.upgrade, { blocked: false, reasons: [] });
    assert.deepEqual(json.unservedApiRevisions, []);
    assert.equal(json.needsAttention, true, "a blocked rollback needs a human");
  });

  it("lists the fields a ready rollback would set back, with who changed them, and unserved revisions", () => {
    const json = printed(shopRelease("search", ["superseded", "superseded", "deployed"], READY_ROLLBACK));
    const rollback = json.rollback;
    assert.ok(rollback);
    assert.equal(rollback.ready, true);
    assert.deepEqual(rollback.blockers, []);
    assert.deepEqual(rollback.reverted[1], {
      object: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "search" },
      path: 'spec.template.spec.containers[name="search"].image',
      managers: ["kubectl-edit"],
    });
    assert.deepEqual(rollback.reverted[2]?.managers, [], "no manager known: an empty list");
    assert.deepEqual(json.unservedApiRevisions, [1]);
  });

  it("says null for what does not exist (no target, no object), and when an upgrade has been pending since", () => {
    const json = printed(shopRelease("queue", ["pending-install"], STUCK_INSTALL));
    assert.deepEqual(json.rollback, {
      targetRevision: null,
      targetStatus: null,
      applyMethod: null,
      ready: false,
      blockers: [
        {
          reason: "no_target",
          object: null,
          message: "release has no 0 version",
          note: null,
          leaves: "nothing",
        },
      ],
      reverted: [],
      takenOver: [],
    });
    assert.deepEqual(json.upgrade, {
      blocked: true,
      reasons: [
        {
          reason: "pending",
          message: "another operation (install/upgrade/rollback) is in progress",
          since: STUCK_SINCE.toISOString(),
        },
      ],
    });
  });

  it("is null, not ready and not empty, for a release whose readiness was not checked", () => {
    const json = printed(shopRelease("billing", ["deployed"]));
    assert.equal(json.rollback, null);
    assert.equal(json.upgrade, null);
    assert.equal(json.unservedApiRevisions, null);
  });

  it("is the same in the scan document as for one release", () => {
    const snapshot = testSnapshot({
      releases: [shopRelease("checkout", ["superseded", "deployed"], BLOCKED_ROLLBACK)],
    });
    const [report] = snapshot.releases;
    assert.ok(report);
    assert.deepEqual(toScanJson(snapshot).releases[0], toReleaseJson(report));
  });
});
