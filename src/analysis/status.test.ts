import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeReleaseNow } from "../helm/decode.ts";
import type { ReleaseStatus } from "../helm/release.ts";
import { encodeRelease, releaseRecord } from "../../test/support/encode.ts";
import { releaseReport } from "../report/snapshot.ts";
import { analyzeStatus, type StatusInput } from "./status.ts";

function input(statuses: ReleaseStatus[], latest?: StatusInput["latest"]): StatusInput {
  const revisions = statuses.map((status, index) => ({
    revision: index + 1,
    status,
    createdAt: new Date(Date.UTC(2026, 10, 1 + index)),
  }));
  const last = statuses.length;
  return {
    namespace: "apps",
    release: "web",
    storage: "secret",
    revisions: [...revisions].reverse(), // order must not matter
    latest:
      latest ??
      decodeReleaseNow(
        encodeRelease(releaseRecord({ revision: last, status: statuses.at(-1) ?? "unknown" })),
      ),
  };
}

describe("analyzeStatus", () => {
  it("reports a healthy release", () => {
    const report = analyzeStatus(input(["superseded", "superseded", "deployed"]));
    assert.equal(report.status, "deployed");
    assert.equal(report.revision, 3);
    assert.equal(report.deployedRevision, 3);
    assert.equal(report.revisions, 3);
    assert.equal(report.failedRevisions, 0);
    assert.deepEqual(report.chart, { name: "web", version: "1.2.3", appVersion: "4.5.6" });
    assert.equal(report.lastDeployed?.toISOString(), "2026-11-21T11:30:00.500Z");
    assert.equal(releaseReport(report).attention.length > 0, false);
  });

  it("counts consecutive failures after the last deployed revision", () => {
    const report = analyzeStatus(input(["superseded", "failed", "deployed", "failed", "failed"]));
    assert.equal(report.status, "failed");
    assert.equal(report.failedRevisions, 2);
    assert.equal(report.deployedRevision, 3);
    assert.equal(releaseReport(report).attention.length > 0, true);
  });

  it("resets the failure count once a later revision succeeds", () => {
    assert.equal(analyzeStatus(input(["deployed", "failed", "failed", "deployed"])).failedRevisions, 0);
    assert.equal(analyzeStatus(input(["failed", "failed", "pending-rollback"])).failedRevisions, 0);
  });

  it("has no deployed revision when none is deployed", () => {
    const report = analyzeStatus(input(["failed"]));
    assert.equal(report.deployedRevision, undefined);
    assert.equal(report.failedRevisions, 1);
  });

  it("reports stuck pending revisions as needing attention", () => {
    const report = analyzeStatus(input(["deployed", "pending-upgrade"]));
    assert.equal(report.status, "pending-upgrade");
    assert.equal(report.deployedRevision, 1);
    assert.equal(releaseReport(report).attention.length > 0, true);
  });

  it("falls back to labels when the latest revision is unreadable", () => {
    const report = analyzeStatus(
      input(["deployed", "failed"], { ok: false, reason: "gzip", message: "unexpected end of file" }),
    );
    assert.equal(report.status, "failed");
    assert.equal(report.chart, undefined);
    assert.equal(report.failedRevisions, 1);
    assert.deepEqual(report.unreadable, { revision: 2, reason: "gzip", message: "unexpected end of file" });
    assert.equal(report.lastDeployed?.toISOString(), "2026-11-02T00:00:00.000Z");
    assert.equal(releaseReport(report).attention.length > 0, true);
  });

  it("trusts the record over a stale status label", () => {
    const latest = decodeReleaseNow(encodeRelease(releaseRecord({ revision: 2, status: "failed" })));
    const report = analyzeStatus(input(["deployed", "deployed"], latest));
    assert.equal(report.status, "failed");
    assert.equal(report.failedRevisions, 1);
  });
});
