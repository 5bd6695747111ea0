/**
 * The readiness analysis on situations recorded from the real control plane
 * (test/support/rollback-fixtures.ts): given what the scan would read, it must name the reason
 * real helm then failed for, in the words helm printed. The integration test proves the same
 * end to end; this one runs in milliseconds and pins the pure rules.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_DRIFT_OPTIONS } from "../drift/drift.ts";
import { kindKey, refKey, resourceRef } from "../../model/refs.ts";
import type { KubeObject } from "../../kube/client.ts";
import { toClusterObject } from "../../read/hook-objects.ts";
import type { ManifestObject, ReleaseRecord, ReleaseStatus } from "../../helm/release.ts";
import {
  decodeFixtureRecord,
  loadFixtures,
  wordedAsHelm,
  type RollbackFixture,
} from "../../../test/support/rollback-fixtures.ts";
import { examineObject } from "./objects.ts";
import { analyzeReadiness, type LiveState, type ReadinessInput } from "./readiness.ts";

const OWNER_ANNOTATIONS = ["meta.helm.sh/release-name", "meta.helm.sh/release-namespace"] as const;

/** The input the rollback collector would assemble from what the fixture recorded. */
function inputOf(fixture: RollbackFixture): ReadinessInput {
  const records = fixture.records.map((stored) => decodeFixtureRecord(stored.release));
  const last = records.at(-1);
  const target = records.find((record) => record.revision === fixture.targetRevision);
  const kinds = new Map(fixture.kinds.map((fact) => [kindKey(fact), fact]));
  const refOf = (object: { apiVersion: string; kind: string; name: string; namespace?: string }) =>
    refKey(resourceRef(object, fixture.namespace, kinds.get(kindKey(object))?.namespaced));
  const live = (object: ManifestObject): LiveState => {
    const found = fixture.live[refOf(object)];
    if (!found) return { state: "missing" };
    const annotations = (found.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    const [name, namespace] = OWNER_ANNOTATIONS.map((key) => annotations[key]);
    const declaredInLast = last?.manifest.find((candidate) => refOf(candidate) === refOf(object));
    const examination = examineObject(
      {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.name,
        target: object.body,
        ...(declaredInLast && { last: declaredInLast.body }),
      },
      found,
      target?.applyMethod ?? "csa",
      DEFAULT_DRIFT_OPTIONS.helmManagers,
    );
    return { state: "examined", examination, ...(name && namespace && { owner: `${namespace}/${name}` }) };
  };
  return {
    release: fixture.release,
    namespace: fixture.namespace,
    storage: "secret",
    revisions: fixture.records.map((stored) => ({
      revision: stored.revision,
      status: stored.status as ReleaseStatus,
    })),
    last,
    ...(target && { target: { record: target } }),
    upgradeBase: upgradeBase(records),
    served: (apiVersion, kind) => kinds.get(kindKey({ apiVersion, kind }))?.served ?? true,
    namespaced: (apiVersion, kind) => kinds.get(kindKey({ apiVersion, kind }))?.namespaced,
    namespaceState: fixture.namespaceTerminating ? "terminating" : "active",
    hookObject: (hook, namespace) => {
      const found = fixture.hookObjects[refOf({ ...hook, apiVersion: hook.apiVersion ?? "", namespace })];
      return found
        ? { state: "found", object: toClusterObject(found as KubeObject, hook.apiVersion ?? "", hook.kind) }
        : { state: "absent" };
    },
    live,
    helmManagers: DEFAULT_DRIFT_OPTIONS.helmManagers,
    revisionKinds: new Map(
      records.map((record) => [
        record.revision,
        [...record.manifest, ...record.hooks].map((object) => ({
          apiVersion: object.apiVersion ?? "",
          kind: object.kind,
        })),
      ]),
    ),
  };
}

/** As the collector decides it: the deployed revision, else the latest when failed or superseded. */
function upgradeBase(records: readonly ReleaseRecord[]): ReleaseRecord | undefined {
  const deployed = records.filter((record) => record.status === "deployed").at(-1);
  const latest = records.at(-1);
  if (deployed) return deployed;
  return latest && (latest.status === "failed" || latest.status === "superseded") ? latest : undefined;
}

const fixtures = loadFixtures();

describe("rollback readiness on situations recorded from the cluster", () => {
  it("has recorded situations to replay", () => {
    assert.ok(fixtures.length >= 9, `test/fixtures/rollback holds ${String(fixtures.length)} situations`);
  });

  for (const fixture of fixtures) {
    it(`${fixture.scenario} [${fixture.mode}]: ${fixture.expectedReason}, as helm then did`, () => {
      const { rollback } = analyzeReadiness(inputOf(fixture));
      const detail = JSON.stringify(rollback, null, 2);
      assert.equal(rollback.targetRevision, fixture.targetRevision, detail);
      assert.equal(
        fixture.helm.exitCode === 0,
        fixture.expectedReason === "ready",
        "the recording is consistent",
      );
      if (fixture.expectedReason === "ready") {
        assert.equal(rollback.ready, true, detail);
        return;
      }
      assert.deepEqual(
        [...new Set(rollback.blockers.map((blocker) => blocker.reason))],
        [fixture.expectedReason],
        detail,
      );
      if (fixture.helmWordsDiffer) return;
      for (const blocker of rollback.blockers)
        assert.ok(
          wordedAsHelm(blocker.message, fixture.helm.output),
          `${blocker.message}\n  helm said: ${fixture.helm.output}`,
        );
    });
  }
});

describe("rollback readiness: what changes the verdict", () => {
  const byScenario = (name: string) => {
    const fixture = fixtures.find((candidate) => candidate.scenario === name);
    assert.ok(fixture, name);
    return fixture;
  };

  it("reports the hand-made values a client-side rollback sets back, with who made them", () => {
    const { rollback } = analyzeReadiness(inputOf(byScenario("ready/drift-reverted")));
    const reverted = rollback.reverted.map(
      (field) => `${field.object.name} ${field.path} ${field.managers.join(",")}`,
    );
    assert.ok(reverted.includes("app-web spec.replicas kubectl"), reverted.join("\n"));
    assert.ok(reverted.includes("app-locked data.value kubectl-patch"), reverted.join("\n"));
  });

  it("is blocked when the namespace is being deleted, and the upgrade too, whatever else holds", () => {
    const input = { ...inputOf(byScenario("ready/drift-reverted")), namespaceState: "terminating" as const };
    const { rollback, upgrade } = analyzeReadiness(input);
    assert.deepEqual(
      rollback.blockers.map((blocker) => blocker.reason),
      ["namespace_terminating"],
    );
    assert.deepEqual(
      upgrade.blockers.map((blocker) => blocker.reason),
      ["namespace_terminating"],
    );
  });

  it("calls an unreadable namespace unknown: never ready, never blocked", () => {
    const input = { ...inputOf(byScenario("ready/drift-reverted")), namespaceState: "unknown" as const };
    const { rollback, upgrade } = analyzeReadiness(input);
    assert.equal(rollback.ready, false);
    assert.deepEqual(
      rollback.blockers.map((blocker) => blocker.reason),
      ["unchecked"],
    );
    assert.equal(upgrade.blocked, false);
    assert.deepEqual(
      upgrade.blockers.map((blocker) => blocker.reason),
      ["unchecked"],
    );
  });

  it("calls an object that could not be read unknown, not ready", () => {
    const base = inputOf(byScenario("ready/drift-reverted"));
    const { rollback } = analyzeReadiness({
      ...base,
      live: () => ({ state: "unchecked", message: "deployments.apps is forbidden" }),
    });
    assert.equal(rollback.ready, false);
    assert.ok(
      rollback.blockers.every((blocker) => blocker.reason === "unchecked"),
      JSON.stringify(rollback),
    );
  });

  it("calls a kind whose serving is unknown (discovery not loaded) unknown for the upgrade", () => {
    const base = inputOf(byScenario("ready/drift-reverted"));
    const { upgrade } = analyzeReadiness({ ...base, served: () => undefined });
    assert.equal(upgrade.blocked, false);
    assert.deepEqual(
      upgrade.blockers.map((blocker) => blocker.reason),
      ["unchecked"],
    );
  });

  it("reports the same conflicts server-side whatever order the managers wrote in", () => {
    const input = inputOf(byScenario("ssa_conflict/kubectl-scale-edit-patch"));
    const first = analyzeReadiness(input).rollback.blockers.map((blocker) => blocker.message);
    const again = analyzeReadiness(input).rollback.blockers.map((blocker) => blocker.message);
    assert.deepEqual(first, again);
    assert.ok(first.length > 0);
  });
});
