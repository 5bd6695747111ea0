/**
 * The snapshot's exposition, whole, values included, against a golden file: a change to what a
 * scan's findings become in Prometheus text is a change to review (UPDATE_GOLDEN=1 rewrites it).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { ResourceDrift } from "../analysis/drift/drift.ts";
import {
  BLOCKED_ROLLBACK,
  READY_ROLLBACK,
  shopRelease,
  STUCK_INSTALL,
} from "../../test/support/readiness.ts";
import { FIXTURE_TIME, testSnapshot } from "../../test/support/snapshot.ts";
import { ROLLBACK_BLOCKER_REASONS } from "../analysis/rollback/types.ts";
import { parseExposition, type Sample } from "../../test/support/metrics-text.ts";
import { MAX_MANAGERS_PER_RELEASE, renderSnapshot } from "./snapshot-metrics.ts";

const GOLDEN = new URL("../../test/fixtures/golden/snapshot-metrics.prom", import.meta.url);
const at = (minutes: number) => new Date(FIXTURE_TIME.getTime() - minutes * 60_000);

/** A Deployment changed by `managers`, since `minutes` ago. */
function modified(name: string, managers: readonly string[], minutes: number): ResourceDrift {
  return {
    resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name },
    state: "modified",
    fields: [{ path: "spec.replicas", change: "changed", declared: 1, live: 3, sensitive: false, managers }],
    managers: managers.map((manager) => ({ manager, operation: "Update", time: at(minutes) })),
    since: at(minutes),
  };
}

function snapshot() {
  // Fourteen managers: twelve tools, kubectl-edit beside the first, and unknown for the missing
  // object. Ten are named (the busiest, then by name), four folded as "other".
  const managers = Array.from(
    { length: MAX_MANAGERS_PER_RELEASE + 2 },
    (_, index) => `tool-${String(index)}`,
  );
  const drifted = {
    ...shopRelease("checkout", ["superseded", "deployed"], BLOCKED_ROLLBACK),
    drift: {
      baseRevision: 2,
      baseIsDeployed: true,
      managedResources: 20,
      ignored: { annotation: 1, hpa: 2, manager: 0, rule: 3 },
      resources: [
        ...managers.map((manager, index) =>
          modified(`web-${String(index)}`, index === 0 ? [manager, "kubectl-edit"] : [manager], 30 + index),
        ),
        {
          resource: { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "gone" },
          state: "missing" as const,
          fields: [],
          managers: [{ manager: "unknown", operation: "" }],
          since: at(5),
        },
        {
          resource: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", namespace: "shop", name: "pdb" },
          state: "unchecked" as const,
          uncheckedReason: "forbidden" as const,
          message: "list poddisruptionbudgets: forbidden (RBAC)",
          fields: [],
          managers: [],
        },
      ],
    },
  };
  const hooked = {
    ...shopRelease("billing", ["deployed", "failed"]),
    hooks: {
      orphaned: [
        {
          kind: "Job",
          namespace: "shop",
          name: "migrate",
          reason: "failed" as const,
          revision: 2,
          deletePolicies: [],
        },
      ],
      running: [
        {
          kind: "Job",
          namespace: "shop",
          name: "seed",
          revision: 2,
          events: ["post-upgrade"],
          startedAt: at(90),
          state: "complete" as const,
          deletePolicies: ["before-hook-creation"],
        },
      ],
      leftovers: [{ kind: "ConfigMap", namespace: "shop", name: "old", reason: "kept" as const }],
      terminating: [
        { kind: "Secret", namespace: "shop", name: "stuck", deletionTimestamp: at(60), finalizers: ["x/y"] },
      ],
    },
  };
  return testSnapshot({
    startedAt: at(1),
    finishedAt: FIXTURE_TIME,
    dataAgeSeconds: 12.5,
    // billing was not checked for rollback readiness: it has no readiness series at all.
    releases: [
      drifted,
      hooked,
      shopRelease("search", ["superseded", "superseded", "deployed"], READY_ROLLBACK),
      shopRelease("queue", ["pending-install"], STUCK_INSTALL),
    ],
    unreferencedHooks: [{ kind: "Job", namespace: "batch", name: "orphan", hook: "post-install" }],
    goneReleases: [
      {
        namespace: "shop",
        release: "retired",
        leftovers: [{ kind: "Service", namespace: "shop", name: "retired-web", reason: "leftover" }],
      },
    ],
    collectors: [
      { name: "releases", success: true, durationSeconds: 0.25, errors: [] },
      {
        name: "drift",
        success: false,
        durationSeconds: 1.5,
        errors: ["cannot read policy/PodDisruptionBudget"],
      },
    ],
  });
}

describe("snapshot exposition", () => {
  it("renders every series with its value, folding managers past the tenth into other", async () => {
    const text = await renderSnapshot(snapshot());
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(GOLDEN, text);
    assert.equal(text, readFileSync(GOLDEN, "utf8"));
    const managers = text
      .split("\n")
      .filter((line) => line.startsWith("helm_release_drift_manager_resources{"));
    assert.equal(managers.length, MAX_MANAGERS_PER_RELEASE + 1, "ten managers by name, and other");
    assert.ok(
      managers.some((line) => line.endsWith(`manager="other"} 4`)),
      "the four past the tenth, summed",
    );
    assert.ok(managers.some((line) => line.endsWith(`manager="tool-0"} 1`)));
  });
});

describe("rollback readiness series", () => {
  const samples = async () => parseExposition(await renderSnapshot(snapshot()));
  const of = (all: readonly Sample[], name: string, release: string) =>
    Object.fromEntries(
      all
        .filter((sample) => sample.name === name && sample.labels.release === release)
        .map((sample) => [sample.labels.reason ?? "", sample.value]),
    );

  it("counts blockers per reason, every reason present, and says ready only when nothing blocks", async () => {
    const all = await samples();
    assert.deepEqual(of(all, "helm_release_rollback_ready", "checkout"), { "": 0 });
    assert.deepEqual(of(all, "helm_release_rollback_ready", "search"), { "": 1 });
    const blockers = of(all, "helm_release_rollback_blockers", "checkout");
    assert.deepEqual(Object.keys(blockers), [...ROLLBACK_BLOCKER_REASONS]);
    assert.equal(blockers.ssa_conflict, 2);
    assert.equal(blockers.unchecked, 1);
    assert.equal(
      Object.values(blockers).reduce((sum, count) => sum + count, 0),
      3,
    );
    assert.deepEqual(of(all, "helm_release_upgrade_blocked", "queue"), {
      pending: 1,
      no_deployed: 0,
      api_not_served: 0,
      namespace_terminating: 0,
      unchecked: 0,
    });
    assert.deepEqual(of(all, "helm_release_rollback_reverted_fields", "search"), { "": 3 });
    assert.deepEqual(of(all, "helm_release_unserved_api_revisions", "search"), { "": 1 });
  });

  it("has no target series without a target, and no series at all for a release not checked", async () => {
    const all = await samples();
    assert.deepEqual(of(all, "helm_release_rollback_target_revision", "checkout"), { "": 1 });
    assert.deepEqual(of(all, "helm_release_rollback_target_revision", "queue"), {});
    const readiness = all.filter(
      (sample) =>
        /^helm_release_(rollback|upgrade|unserved)_/.test(sample.name) && sample.labels.release === "billing",
    );
    assert.deepEqual(readiness, [], "billing was not checked: nothing says ready or blocked");
  });
});
