/**
 * `diagnose`'s terminal rendering, whole, against golden files: reports recorded from real
 * scenarios on the control plane (test/integration/diagnose.test.ts, RECORD_FIXTURES=1), no
 * colour, the clock fixed at each scan's end. A change to what a person reads at 3 AM is a
 * change to review (UPDATE_GOLDEN=1 rewrites the files).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { DIAGNOSE_FIXTURES, readDiagnoseFixture } from "../../test/support/diagnose-fixtures.ts";
import type { HookJob, HooksReport } from "../analysis/hooks.ts";
import type { ReadinessReport } from "../analysis/rollback/types.ts";
import { BLOCKED_ROLLBACK, shopRelease } from "../../test/support/readiness.ts";
import { FIXTURE_TIME, testSnapshot } from "../../test/support/snapshot.ts";
import { diagnosis } from "../report/diagnosis.ts";
import { duration, renderDiagnosis, renderNoSuchRelease, toDiagnosisJson } from "./diagnose.ts";

const GOLDEN = path.resolve(import.meta.dirname, "../../test/fixtures/golden");
const FIXTURES = readdirSync(DIAGNOSE_FIXTURES)
  .filter((file) => file.endsWith(".json"))
  .map((file) => file.slice(0, -".json".length))
  .sort();

describe("diagnose rendering", () => {
  for (const name of FIXTURES) {
    it(`renders ${name} as its golden file`, () => {
      const { snapshot, report } = readDiagnoseFixture(name);
      const text = renderDiagnosis(snapshot, report);
      const golden = path.join(GOLDEN, `diagnose-${name}.txt`);
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, text);
      assert.equal(text, readFileSync(golden, "utf8"));
      assert.ok(!text.includes("\u001b["), "no colour unless asked");
    });
  }

  it("puts the sections in the issue's order, and next steps safest first", () => {
    for (const name of FIXTURES) {
      const { snapshot, report } = readDiagnoseFixture(name);
      const text = renderDiagnosis(snapshot, report);
      const titles = [
        "Status and lock",
        "History",
        "Drift",
        "Hooks",
        "Stuck deletions",
        "Rollback readiness",
        "Next steps",
      ].map((title) => text.indexOf(`\n\n${title}\n`));
      assert.ok(
        titles.every((at, index) => at > 0 && (index === 0 || at > (titles[index - 1] ?? 0))),
        name,
      );
      const order = ["read", "release", "overwrite", "delete"];
      const safeties = diagnosis(report).steps.map((step) => order.indexOf(step.safety));
      assert.deepEqual(
        safeties,
        [...safeties].sort((a, b) => a - b),
        name,
      );
      for (const step of diagnosis(report).steps.filter((candidate) => candidate.safety === "delete"))
        assert.match(step.text, /this deletes|completes the deletion/, "a deletion says what it deletes");
    }
  });

  it("offers one --force-conflicts rollback for all the conflicts, naming each object", () => {
    const [report] = testSnapshot({
      releases: [shopRelease("checkout", ["superseded", "deployed"], BLOCKED_ROLLBACK)],
    }).releases;
    assert.ok(report);
    const forced = diagnosis(report).steps.filter((step) =>
      step.commands.some((command) => command.includes("--force-conflicts")),
    );
    assert.equal(forced.length, 1);
    assert.match(forced[0]?.text ?? "", /fields of Deployment shop\/web, ConfigMap shop\/settings from/);
  });

  it("offers helm-mapkubeapis once when the current manifest's unserved API fails both rollback and upgrade", () => {
    const unserved =
      'unable to build kubernetes objects from current release manifest: resource mapping not found for name: "web" namespace: "shop" from "": no matches for kind "PodSecurityPolicy" in version "policy/v1beta1"';
    const readiness: ReadinessReport = {
      rollback: {
        targetRevision: 1,
        targetStatus: "superseded",
        applyMethod: "csa",
        ready: false,
        blockers: [{ reason: "api_not_served", message: unserved, leaves: "pending-rollback" }],
        reverted: [],
        takenOver: [],
      },
      upgrade: { blocked: true, blockers: [{ reason: "api_not_served", message: unserved }] },
      unservedApiRevisions: [1, 2],
    };
    const [report] = testSnapshot({
      releases: [shopRelease("checkout", ["superseded", "deployed"], readiness)],
    }).releases;
    assert.ok(report);
    const steps = diagnosis(report).steps.filter((step) => step.text.includes("helm-mapkubeapis"));
    assert.equal(steps.length, 1, steps.map((step) => step.text).join("\n"));
    assert.match(steps[0]?.text ?? "", /^Every rollback and upgrade fails building the current manifest/);
    assert.match(steps[0]?.text ?? "", /then rollback or upgrade$/);
  });

  it("shows a hook Job's conditions and Pods, escaped and bounded, and what its policy means next", () => {
    const at = (seconds: number) => new Date(FIXTURE_TIME.getTime() - seconds * 1000);
    const job: HookJob = {
      conditions: [
        {
          type: "Failed",
          status: "True",
          reason: "BackoffLimitExceeded",
          message: "Job has reached\u001b[2J the specified backoff limit\nreally",
          lastTransitionTime: at(60),
        },
      ],
      pods: {
        total: 7,
        pods: [
          {
            name: "migrate-b",
            phase: "Running",
            createdAt: at(30),
            terminations: [{ container: "main", reason: "OOMKilled", exitCode: 137, restarted: true }],
          },
          {
            name: "migrate-a",
            phase: "Failed",
            createdAt: at(90),
            terminations: [{ container: "main", reason: "Error\u202e", exitCode: 1, restarted: false }],
          },
        ],
      },
    };
    const hooks: HooksReport = {
      running: [],
      orphaned: [
        {
          kind: "Job",
          namespace: "shop",
          name: "migrate",
          reason: "succeeded_not_deleted",
          revision: 2,
          deletePolicies: ["hook-succeeded"],
          job,
        },
        {
          kind: "Job",
          namespace: "shop",
          name: "check",
          reason: "failed",
          revision: 2,
          deletePolicies: ["before-hook-creation"],
          job: { conditions: [], pods: { unreadable: "pods is forbidden" } },
        },
      ],
      leftovers: [],
      terminating: [],
    };
    const snapshot = testSnapshot({
      releases: [{ ...shopRelease("checkout", ["superseded", "deployed"]), hooks }],
    });
    const [report] = snapshot.releases;
    assert.ok(report);
    const text = renderDiagnosis(snapshot, report);
    const section = text.slice(text.indexOf("\nHooks\n"), text.indexOf("\nStuck deletions\n"));
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u202e]/.test(section), "cluster text is escaped");
    assert.match(
      section,
      /condition Failed=True \(BackoffLimitExceeded\) since \S+: Job has reached\\x1b\[2J the specified backoff limit\\nreally\n/,
    );
    assert.match(
      section,
      /7 pods, the newest 2 shown:\n {6}pod migrate-b Running: container main last ended OOMKilled, exit code 137, then restarted\n {6}pod migrate-a Failed: container main terminated Error\\u202e, exit code 1\n/,
    );
    assert.match(
      section,
      /delete policy hook-succeeded: helm deletes it once the hooks of its event succeed; .*nothing deletes it before the hook runs again: .*fails on it with client-side apply \(jobs "migrate" already exists\)/,
    );
    assert.match(section, /no conditions yet/);
    assert.match(section, /its pods could not be read: pods is forbidden/);

    const json = toDiagnosisJson(snapshot, report);
    const [migrate, check] = json.release.hooks?.orphaned ?? [];
    assert.ok(migrate && check);
    assert.deepEqual(migrate.deletePolicies, ["hook-succeeded"]);
    assert.match(migrate.nextOperation ?? "", /already exists/);
    assert.deepEqual(migrate.job?.pods, {
      total: 7,
      newest: [
        {
          name: "migrate-b",
          phase: "Running",
          created: at(30).toISOString(),
          terminations: [
            { container: "main", reason: "OOMKilled", exitCode: 137, restarted: true, finishedAt: null },
          ],
        },
        {
          name: "migrate-a",
          phase: "Failed",
          created: at(90).toISOString(),
          terminations: [
            { container: "main", reason: "Error\u202e", exitCode: 1, restarted: false, finishedAt: null },
          ],
        },
      ],
    });
    assert.deepEqual(check.job?.pods, { unreadable: "pods is forbidden" });
  });

  it("colours the verdict and the diff only when asked", () => {
    const { snapshot, report } = readDiagnoseFixture("drift-multiline-v3");
    const text = renderDiagnosis(snapshot, report, { colour: true });
    assert.ok(text.includes("\u001b[1;31mNEEDS ATTENTION"), "the verdict in red");
    assert.ok(text.includes("\u001b[32m+ "), "live lines in green");
  });

  it("says which releases a namespace has when the one asked for is not there", () => {
    assert.equal(
      renderNoSuchRelease("gamma", "shop", ["alpha", "beta"]),
      "No release gamma in namespace shop.\nReleases in namespace shop: alpha, beta\n",
    );
    assert.match(renderNoSuchRelease("gamma", "shop", []), /has no Helm releases/);
  });

  it("says how long to the precision a person needs", () => {
    assert.deepEqual([45_000, 12 * 60_000, (3 * 60 + 5) * 60_000, (52 * 60 + 1) * 60_000].map(duration), [
      "45s",
      "12m",
      "3h 5m",
      "2d 4h",
    ]);
  });
});
