import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hook, ReleaseRecord } from "../helm/release.ts";
import { releaseKey } from "../model/refs.ts";
import { analyzeHooks, type ClusterObject, type HooksInput } from "./hooks.ts";

function hook(
  name: string,
  phase: Hook["lastRun"]["phase"],
  deletePolicies: string[] = [],
  kind = "Job",
): Hook {
  return {
    name,
    kind,
    path: `c/templates/${name}.yaml`,
    events: ["post-upgrade"],
    deletePolicies,
    weight: 0,
    lastRun: { phase, ...(phase !== "" && { startedAt: new Date("2026-11-24T03:00:00Z") }) },
  };
}

function record(revision: number, hooks: Hook[]): ReleaseRecord {
  return {
    name: "web",
    namespace: "apps",
    revision,
    status: "deployed",
    description: "",
    chart: { name: "c", version: "1", appVersion: "1" },
    applyMethod: "csa",
    manifest: [],
    hooks,
  };
}

function object(name: string, extra: Partial<ClusterObject> = {}): ClusterObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    namespace: "apps",
    name,
    annotations: { "helm.sh/hook": "post-upgrade" },
    finalizers: [],
    ...extra,
  };
}

/** An object Helm applied for `release` (its release annotations), kept on purpose or not. */
function annotated(name: string, release: string, keep = false): ClusterObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "apps",
    name,
    annotations: {
      "meta.helm.sh/release-name": release,
      "meta.helm.sh/release-namespace": "apps",
      ...(keep && { "helm.sh/resource-policy": "keep" }),
    },
    finalizers: [],
  };
}

const NOW = new Date("2026-11-24T04:00:00Z");

function run(input: Partial<HooksInput>) {
  return analyzeHooks({
    releases: [],
    hookObjects: [],
    releaseObjects: [],
    now: NOW,
    terminatingAfterMs: 600_000,
    ...input,
  });
}

describe("analyzeHooks", () => {
  it("reports hook objects their delete policy should have removed, and failed runs left behind", () => {
    const result = run({
      releases: [
        {
          namespace: "apps",
          release: "web",
          records: [
            record(2, [
              hook("ok-deleted", "Succeeded", ["hook-succeeded"]),
              hook("ok-kept", "Succeeded"),
              hook("failed-deleted", "Failed", ["hook-failed"]),
              hook("failed-kept", "Failed"),
              hook("never-ran", ""),
            ]),
          ],
          manifest: [],
        },
      ],
      hookObjects: ["ok-deleted", "ok-kept", "failed-deleted", "failed-kept", "never-ran"].map((name) =>
        object(name),
      ),
    });
    const report = result.byRelease.get(releaseKey({ namespace: "apps", release: "web" }));
    assert.deepEqual(
      report?.orphaned.map((h) => [h.name, h.reason]),
      [
        ["ok-deleted", "succeeded_not_deleted"],
        ["failed-deleted", "failed_not_deleted"],
        ["failed-kept", "failed"],
      ],
    );
    assert.deepEqual(result.unreferenced, [], "all referenced");
  });

  it("judges a hook by the newest revision that ran it", () => {
    const result = run({
      releases: [
        {
          namespace: "apps",
          release: "web",
          records: [
            record(3, [hook("migrate", "")]),
            record(2, [hook("migrate", "Succeeded", ["hook-succeeded"])]),
          ],
          manifest: [],
        },
      ],
      hookObjects: [object("migrate")],
    });
    assert.equal(result.byRelease.get("apps/web")?.orphaned[0]?.revision, 2);
  });

  it("tells a running hook that is still active from one helm stopped watching", () => {
    const result = run({
      releases: [
        {
          namespace: "apps",
          release: "web",
          records: [
            record(2, [
              hook("a", "Running"),
              hook("b", "Running"),
              hook("c", "Running"),
              hook("d", "Running", [], "Pod"),
            ]),
          ],
          manifest: [],
        },
      ],
      hookObjects: [
        object("a", { jobState: "active" }),
        object("b", { jobState: "failed" }),
        object("d", { kind: "Pod", apiVersion: "v1" }),
      ],
    });
    assert.deepEqual(
      result.byRelease.get("apps/web")?.running.map((h) => [h.name, h.state, h.startedAt?.toISOString()]),
      [
        ["a", "active", "2026-11-24T03:00:00.000Z"],
        ["b", "failed", "2026-11-24T03:00:00.000Z"],
        ["c", "missing", "2026-11-24T03:00:00.000Z"],
        ["d", "not_a_job", "2026-11-24T03:00:00.000Z"],
      ],
    );
  });

  it("finds leftovers and kept objects, also of releases that are gone, and unreferenced hooks", () => {
    const result = run({
      releases: [
        {
          namespace: "apps",
          release: "web",
          records: [record(1, [])],
          manifest: [{ kind: "ConfigMap", namespace: "apps", name: "in-manifest" }],
        },
      ],
      releaseObjects: [
        annotated("in-manifest", "web"),
        annotated("extra", "web"),
        annotated("keep-me", "web", true),
        annotated("orphan", "gone"),
      ],
      hookObjects: [object("nobody-knows")],
    });
    assert.deepEqual(
      result.byRelease.get("apps/web")?.leftovers.map((l) => [l.name, l.reason]),
      [
        ["extra", "leftover"],
        ["keep-me", "kept"],
      ],
    );
    assert.deepEqual(
      result.byRelease.get("apps/gone")?.leftovers.map((l) => [l.name, l.reason]),
      [["orphan", "leftover"]],
    );
    assert.deepEqual(
      result.unreferenced.map((o) => o.name),
      ["nobody-knows"],
    );
  });

  it("never calls an object a live release declares another release's leftover", () => {
    // Someone changed meta.helm.sh/release-name by hand: drift of "web", not a leftover of "renamed".
    const result = run({
      releases: [
        {
          namespace: "apps",
          release: "web",
          records: [record(1, [])],
          manifest: [
            { kind: "ConfigMap", namespace: "apps", name: "renamed-by-hand" },
            { kind: "ConfigMap", namespace: "apps", name: "claimed-by-api" },
          ],
        },
        { namespace: "apps", release: "api", records: [record(1, [])], manifest: [] },
      ],
      releaseObjects: [annotated("renamed-by-hand", "renamed"), annotated("claimed-by-api", "api")],
    });
    assert.equal(result.byRelease.get("apps/renamed"), undefined, "no release of the new name");
    assert.deepEqual(result.byRelease.get("apps/api")?.leftovers, []);
    assert.deepEqual(result.byRelease.get("apps/web")?.leftovers, []);
  });

  it("reports objects stuck deleting past the threshold, with their finalizers", () => {
    const deleting = (minutesAgo: number): Partial<ClusterObject> => ({
      deletionTimestamp: new Date(NOW.getTime() - minutesAgo * 60_000),
      finalizers: ["example.com/hold"],
    });
    const result = run({
      releases: [
        {
          namespace: "apps",
          release: "web",
          records: [record(1, [hook("old", "Succeeded"), hook("new", "Succeeded")])],
          manifest: [],
        },
      ],
      hookObjects: [object("old", deleting(30)), object("new", deleting(1))],
    });
    assert.deepEqual(
      result.byRelease.get("apps/web")?.terminating.map((t) => [t.name, t.finalizers]),
      [["old", ["example.com/hold"]]],
    );
  });
});
