import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReadinessReport } from "../analysis/rollback/types.ts";
import { BLOCKED_ROLLBACK, READY_ROLLBACK, shopRelease } from "../../test/support/readiness.ts";
import { attentionReasons } from "./attention.ts";

const rollbackReasons = (reasons: readonly string[]) =>
  reasons.filter((reason) => /helm (rollback|upgrade)/.test(reason));

/** A rollback with nothing to go back to: helm's words for revision `last - 1` missing. */
const noTarget = (last: number): ReadinessReport => ({
  rollback: {
    targetRevision: last - 1,
    ready: false,
    blockers: [
      { reason: "no_target", message: `release has no ${String(last - 1)} version`, leaves: "nothing" },
    ],
    reverted: [],
    takenOver: [],
  },
  upgrade: { blocked: false, blockers: [] },
  unservedApiRevisions: [],
});

describe("attention: rollback and upgrade readiness", () => {
  it("says a blocked rollback with its target and Helm's errors", () => {
    const reasons = attentionReasons(
      shopRelease("checkout", ["superseded", "deployed"], BLOCKED_ROLLBACK),
      undefined,
    );
    const [rollback, ...rest] = rollbackReasons(reasons);
    assert.deepEqual(rest, []);
    assert.match(rollback ?? "", /^helm rollback to revision 1 would fail: ssa_conflict: conflict occurred/);
    assert.match(rollback ?? "", /unchecked: poddisruptionbudgets\.policy is forbidden/);
  });

  it("says nothing of a ready rollback, even one that reverts changes made by hand", () => {
    const reasons = attentionReasons(
      shopRelease("search", ["superseded", "superseded", "deployed"], READY_ROLLBACK),
      undefined,
    );
    assert.deepEqual(rollbackReasons(reasons), []);
  });

  it("says nothing of a first install's missing target: one stored revision has nothing to roll back to by design", () => {
    assert.deepEqual(attentionReasons(shopRelease("new", ["deployed"], noTarget(1)), undefined), []);
  });

  it("says a missing target when older revisions were stored (pruned, or deleted by hand)", () => {
    const reasons = attentionReasons(
      shopRelease("pruned", ["superseded", "deployed"], noTarget(2)),
      undefined,
    );
    assert.deepEqual(rollbackReasons(reasons), [
      "helm rollback to revision 1 would fail: no_target: release has no 1 version",
    ]);
  });

  it("calls what only could not be checked unknown, never 'would fail'", () => {
    const unchecked: ReadinessReport = {
      ...READY_ROLLBACK,
      rollback: {
        ...READY_ROLLBACK.rollback,
        ready: false,
        blockers: [
          {
            reason: "unchecked",
            message: "whether namespace shop is being deleted is unknown (it could not be read)",
          },
        ],
      },
    };
    const reasons = attentionReasons(shopRelease("search", ["superseded", "deployed"], unchecked), undefined);
    assert.deepEqual(rollbackReasons(reasons), [
      "could not check whether helm rollback to revision 2 would succeed: unchecked: whether namespace shop is being deleted is unknown (it could not be read)",
    ]);
  });

  it("says an upgrade blocked for a reason other than pending (pending is said with the status)", () => {
    const readiness: ReadinessReport = {
      ...READY_ROLLBACK,
      upgrade: {
        blocked: true,
        blockers: [{ reason: "namespace_terminating", message: "namespace shop is being terminated" }],
      },
    };
    const reasons = attentionReasons(shopRelease("search", ["superseded", "deployed"], readiness), undefined);
    assert.deepEqual(rollbackReasons(reasons), [
      "helm upgrade would fail (namespace_terminating): namespace shop is being terminated",
    ]);
  });
});
